"""What leaves the page: the run as CSV and as a journal, the plots as a PNG, the run as a GIF.

Pure functions from a run (:class:`~explorer.engine.RunRecord`) and the images the session
holds to bytes, rendered on the server with matplotlib's Agg backend and Pillow (no browser, no
external program), so they are tested headless (``tests/explorer/test_export.py``). The page's
download buttons (:mod:`explorer.views.lesson`) call :func:`session_exports`.

- :func:`run_csv`: one row per evaluation: history index, the explorer's step (the history
  slider's value), every parameter in native units under its own name, the value, the status
  and the origin kind (``core.records.ORIGIN_KINDS``).
- :func:`run_journal`: the run as a journal written by :mod:`core.journal`'s writer (the header
  of :func:`core.journal.make_header`, one line per evaluation, the end line of a finished run),
  so :func:`core.journal.load_journal`, :func:`core.run.replay` and the explorer's ``--journal``
  replay read it like one written by ``python -m core run --journal``.
- :func:`plots_png`: the landscape with the points, the surrogate and the race side by side, at
  projector resolution (:data:`PNG_SIZE`).
- :func:`run_gif`: the landscape with the points step by step up to the shown step.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from explorer.objectives import method_title

__all__ = [
    "GIF_SIZE",
    "PNG_SIZE",
    "gif_steps",
    "journal_max_batch",
    "plots_png",
    "run_csv",
    "run_gif",
    "run_journal",
    "session_exports",
]

#: Pixels of the PNG of the plots (a full-HD projector) and of the GIF's frames.
PNG_SIZE = (1920, 1080)
GIF_SIZE = (800, 600)
_DPI = 100


# -- tables ---------------------------------------------------------------------------------------
def _evaluations(run: Any) -> list[tuple[int, Any]]:
    """``(step, evaluation)`` of every recorded evaluation, in history order (step = frame)."""
    if run is None:
        return []
    return [(k, ev) for k, batch in enumerate(run.batches) for ev in batch.evaluations]


def run_csv(run: Any) -> bytes:
    """The run as CSV (UTF-8, one header row): ``index, step, <parameters>, value, status,
    origin``. Failed evaluations have an empty value."""
    names = list(run.space.names) if run is not None else []
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["index", "step", *names, "value", "status", "origin"])
    for step, ev in _evaluations(run):
        value = "" if not math.isfinite(ev.value) else repr(float(ev.value))
        kind = ev.origin.kind if ev.origin is not None else "sample"
        w.writerow([ev.index, step, *[ev.config[n] for n in names], value, ev.status, kind])
    return out.getvalue().encode("utf-8")


def journal_max_batch(run: Any) -> int | None:
    """The batch bound the explorer drove this run with (a replay must ask the same batches):
    a replayed journal's own, the explorer's animation batch of a computed run, or for a live
    run the largest batch it evaluated (the live workers' count)."""
    fixed = getattr(run.objective, "fixed_run", None)
    if fixed is not None:
        return fixed["max_batch"]
    from explorer.engine.worker import animation_batch
    from explorer.objectives import is_cheap

    if is_cheap(run.objective):
        return animation_batch(run.key.method, run.budget, live=False)
    sizes = [len(b.evaluations) for b in run.batches]
    return max(sizes) if sizes else None


def run_journal(run: Any) -> bytes:
    """The run as a journal (``core.journal`` format), written by :mod:`core.journal`'s writer
    into a temporary file and returned as bytes. A finished run gets its end line."""
    from core.journal import make_header, open_journal
    from core.objectives import OBJECTIVES
    from core.strategies import STRATEGIES

    key = run.key
    fixed = getattr(run.objective, "fixed_run", None)
    method = fixed["method"] if fixed is not None else key.method
    options = dict(fixed["options"]) if fixed is not None else key.strategy_options
    seed = fixed["seed"] if fixed is not None else int(key.seed)
    info: dict[str, Any] = {"method": method, "seed": seed, "options": options}
    if key.objective in OBJECTIVES:  # a registered objective: the journal names it
        info["objective"] = key.objective
    strategy = run.strategy if run.strategy is not None else STRATEGIES[method]
    name = strategy.__name__ if isinstance(strategy, type) else type(strategy).__name__
    header = make_header(space=run.space.describe(), strategy=name, dim=run.d,
                         n_evals=int(fixed["budget"] if fixed is not None else run.budget),
                         max_batch=journal_max_batch(run), run=info)
    with tempfile.TemporaryDirectory(prefix="explorer-journal-") as tmp:
        path = Path(tmp) / "run.jsonl"
        writer, _ = open_journal(path, header, resume=False)
        try:
            n = 0
            for _, ev in _evaluations(run):
                writer.append(ev)
                n += 1
            if run.done and run.stop_reason and not run.error:
                writer.end(run.stop_reason, n)
        finally:
            writer.close()
        return path.read_bytes()


# -- pictures -------------------------------------------------------------------------------------
def _figure(size: tuple[int, int], layout: str | None = None) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(size[0] / _DPI, size[1] / _DPI), dpi=_DPI, layout=layout)


def _norm(scale: Any, values: np.ndarray | None) -> tuple[Any, float, float]:
    """``(transform, vmin, vmax)`` of the colours: the session's scale, else the values'."""
    if scale is None:
        v = np.asarray(values if values is not None else [0.0, 1.0], dtype=np.float64)
        v = v[np.isfinite(v)]
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
        return (lambda z: np.asarray(z, dtype=np.float64)), lo, max(hi, lo + 1e-12)
    lo = float(scale.transform(np.array([scale.low]))[0])
    hi = float(scale.transform(np.array([scale.high]))[0])
    return scale.transform, lo, max(hi, lo + 1e-12)


def _unit_axes(ax: Any, space: Any, dims: tuple[int, int]) -> None:
    """Axes over the unit square with native tick labels."""
    from explorer.engine.units import axis_spec

    ticks = np.linspace(0.0, 1.0, 5)
    for t, (setter, label) in enumerate(((ax.set_xticks, ax.set_xlabel),
                                         (ax.set_yticks, ax.set_ylabel))):
        name = space.names[dims[t]]
        spec = axis_spec(space, name)
        if spec.labels:
            n = len(spec.labels)
            setter([(i + 0.5) / n for i in range(n)], labels=list(spec.labels))
        else:
            setter(ticks, labels=[f"{v:.3g}" for v in spec.to_native(ticks)])
        label(name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")


def _image(ax: Any, Z: np.ndarray | None, transform: Any, vmin: float, vmax: float,
           note: str) -> Any:
    if Z is None:
        ax.text(0.5, 0.5, note, ha="center", va="center", wrap=True, fontsize=13,
                color="#52606d")
        return None
    return ax.imshow(transform(np.asarray(Z, dtype=np.float64)), origin="lower",
                     extent=(0, 1, 0, 1), cmap="viridis", vmin=vmin, vmax=vmax,
                     interpolation="nearest", aspect="auto")


def _shown_end(run: Any, step: int | None) -> tuple[int, int]:
    """``(k, end)``: the shown step (clipped; default the last) and its number of rows."""
    if run is None or not run.n_frames:
        return 0, 0
    k = run.n_frames - 1 if step is None else int(np.clip(step, 0, run.n_frames - 1))
    return k, run.frames[k].end


def _points(ax: Any, run: Any, end: int, dims: tuple[int, int], best: int, size: float) -> Any:
    U = run.U[:end]
    pts = ax.scatter(U[:, dims[0]], U[:, dims[1]], s=size, c="#f2855d", edgecolors="white",
                     linewidths=0.8, zorder=3)
    star = ax.scatter([run.U[best, dims[0]]] if best >= 0 else [],
                      [run.U[best, dims[1]]] if best >= 0 else [], marker="*", s=size * 6,
                      c="#e0b800", edgecolors="black", linewidths=0.8, zorder=4)
    return pts, star


def _title(run: Any) -> str:
    obj = getattr(run.objective, "title", run.key.objective)
    return f"{method_title(run.objective, run.key.method)} on {obj}, budget {run.budget}"


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


def plots_png(run: Any, *, step: int | None = None, dims: tuple[int, int] = (0, 1),
              truth: np.ndarray | None = None, surface: np.ndarray | None = None,
              scale: Any = None, race: Mapping[str, Any] | None = None,
              size: tuple[int, int] = PNG_SIZE) -> bytes:
    """The landscape with the points up to ``step``, the model and the race, as one PNG of
    ``size`` pixels.

    Parameters
    ----------
    run : RunRecord
    step : int, optional
        The shown step (default: the last).
    dims : (int, int)
        The shown dimensions.
    truth, surface : ndarray, shape (r, r), optional
        The true landscape and the model on the shown slice, in objective units
        (``Z[j, i]`` at ``u = ((i + 1/2)/r, (j + 1/2)/r)``).
    scale : explorer.engine.ColorScale, optional
        The colours (default: the range of ``truth``).
    race : dict, optional
        ``method -> RaceResult`` (or a text saying why there is none).
    """
    from core.strategies import STRATEGIES

    fig = _figure(size, layout="constrained")
    fig.suptitle(_title(run), fontsize=22)
    axes = fig.subplots(1, 3)
    k, end = _shown_end(run, step)
    transform, vmin, vmax = _norm(scale, truth if truth is not None else run.y[:end])
    best = run.frames[k].best if end else -1
    title = {"fontsize": 16}
    im = _image(axes[0], truth, transform, vmin, vmax, "no known true landscape")
    axes[0].set_title(f"Evaluations, step {k + 1 if end else 0}: {end} points", **title)
    if end:
        _points(axes[0], run, end, dims, best, 45)
    _unit_axes(axes[0], run.space, dims)
    _image(axes[1], surface, transform, vmin, vmax, "no model for this method or step")
    axes[1].set_title("Model (surrogate)" if run.has_model else "No model", **title)
    _unit_axes(axes[1], run.space, dims)
    if im is not None:
        bar = fig.colorbar(im, ax=axes[:2], shrink=0.7, location="bottom", aspect=40)
        bar.set_label("log10(f − min + δ)" if getattr(scale, "log", False) else
                      str(getattr(run.objective, "metric", "value")), fontsize=13)
    ax = axes[2]
    ax.set_box_aspect(1)
    for method, res in (race or {}).items():
        if getattr(res, "n", None) is None or not len(res.n) or method == run.key.method:
            continue
        cls = STRATEGIES.get(method)
        ax.step(res.n, res.best, where="post", lw=2, label=cls.title if cls else method)
    if end:
        ax.step(np.arange(1, end + 1), run.best_so_far[:end], where="post", lw=3.5,
                color="#e4572e",
                label=f"{method_title(run.objective, run.key.method)} (shown)")
    ax.set_title("Race: best value so far", **title)
    ax.set_xlabel("evaluations")
    ax.set_ylabel(str(getattr(run.objective, "metric", "value")))
    y = run.best_so_far[:end]
    if end and np.all(y[np.isfinite(y)] > 0):
        ax.set_yscale("log")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=12)
    ax.grid(alpha=0.3)
    for a in axes:
        a.tick_params(labelsize=12)
        a.xaxis.label.set_size(14)
        a.yaxis.label.set_size(14)
    return _png(fig)


def gif_steps(n_steps: int, max_frames: int) -> list[int]:
    """The steps a GIF of steps ``0..n_steps-1`` shows: all, or ``max_frames`` spread evenly
    (the first and the last always)."""
    if n_steps <= 0:
        return []
    if n_steps <= max_frames:
        return list(range(n_steps))
    return sorted({int(round(v)) for v in np.linspace(0, n_steps - 1, max_frames)})


def run_gif(run: Any, *, step: int | None = None, dims: tuple[int, int] = (0, 1),
            truth: np.ndarray | None = None, scale: Any = None, max_frames: int = 40,
            size: tuple[int, int] = GIF_SIZE, ms_per_frame: int = 300) -> bytes:
    """The landscape with the points, one frame per step up to ``step`` (default: the last),
    at most ``max_frames`` frames (:func:`gif_steps`), as an animated GIF of ``size`` pixels
    (the last frame held for 2 s)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    k_last, end_last = _shown_end(run, step)
    steps = gif_steps(k_last + 1 if end_last else 0, max_frames)
    fig = _figure(size)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    transform, vmin, vmax = _norm(scale, truth if truth is not None else run.y[:end_last])
    _image(ax, truth, transform, vmin, vmax, "" if steps else "no evaluations yet")
    _unit_axes(ax, run.space, dims)
    fig.suptitle(_title(run), fontsize=13)
    pts, star = _points(ax, run, 0, dims, -1, 30)
    new = ax.scatter([], [], s=120, facecolors="none", edgecolors="#ff2fa0", linewidths=1.6,
                     zorder=5)
    fig.tight_layout()
    frames = []
    for k in steps or [0]:
        f = run.frames[k] if steps else None
        end = f.end if f is not None else 0
        U = run.U[:end][:, list(dims)]
        pts.set_offsets(U if end else np.zeros((0, 2)))
        new.set_offsets(U[f.start:end] if f is not None else np.zeros((0, 2)))
        star.set_offsets(run.U[f.best, list(dims)][None, :] if f is not None and f.best >= 0
                         else np.zeros((0, 2)))
        ax.set_title(f"step {k + 1}: {end} evaluations, best {f.best_value:.4g}"
                     if f is not None else "no evaluations yet", fontsize=12)
        canvas.draw()
        rgba = np.asarray(canvas.buffer_rgba())
        frames.append(Image.fromarray(rgba[..., :3].copy()))
    palette = frames[-1].quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    pal = [fr.quantize(palette=palette, dither=Image.Dither.NONE) for fr in frames]
    buf = io.BytesIO()
    durations = [ms_per_frame] * (len(pal) - 1) + [2000]
    pal[0].save(buf, format="GIF", save_all=True, append_images=pal[1:], duration=durations,
                loop=0)
    return buf.getvalue()


# -- what the page's buttons download -----------------------------------------------------------
def _stem(run: Any) -> str:
    import re

    text = f"{run.key.objective}-{run.key.method}-b{run.budget}-s{run.key.seed}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:80]


def session_exports(session: Any) -> dict[str, tuple[str, Any]]:
    """``kind -> (file name, () -> bytes)`` for a session's shown run (kinds ``png``, ``csv``,
    ``journal``, ``gif``); empty when there is no run."""
    run = session.run
    if run is None or not run.n_frames:
        return {}
    stem = _stem(run)
    step, dims = int(session.step), tuple(session.dims)
    truth, surface, scale = session.truth, session.surface, session.scale
    race = dict(session.race or {})
    return {
        "png": (f"{stem}.png", lambda: plots_png(
            run, step=step, dims=dims, truth=truth, surface=surface, scale=scale, race=race)),
        "csv": (f"{stem}.csv", lambda: run_csv(run)),
        "journal": (f"{stem}.jsonl", lambda: run_journal(run)),
        "gif": (f"{stem}.gif", lambda: run_gif(
            run, step=step, dims=dims, truth=truth, scale=scale)),
    }
