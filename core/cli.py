"""Command-line interface: ``python -m core list`` and ``python -m core run ...``.

``list`` prints the registered objectives (name, title, dimension, metric), the search methods
and the surrogate optimizers. ``run`` minimizes one objective with one method through
:func:`core.run.minimize`, with a tqdm progress bar on stderr, a results table on stdout and,
optionally, a PNG of the convergence::

    python -m core run --objective rosenbrock --method sparse_grid --budget 100 --seed 0 \\
        --gamma 0.5 --optimizer gradient_descent --journal run.jsonl --png run.png

Exit codes: 0 success, 1 the run failed (or standard output is closed), 2 invalid arguments
(the message says what is valid), 130 interrupted (the journal, if any, keeps what was done;
``--resume`` continues it), 141 standard output went away (a reader such as ``head`` closed the
pipe; as with a process killed by ``SIGPIPE``, 128 + 13, nothing more is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["build_parser", "check_png_path", "format_table", "main", "save_convergence_png"]

PROG = "python -m core"
#: Exit code when standard output is a pipe whose reader has gone (128 + SIGPIPE, as shells
#: report for a process ended by that signal).
EXIT_BROKEN_PIPE = 141


def silence_stdout(out: Any) -> None:
    """Point the file descriptor of ``out`` (when it is the process's standard output) at
    ``os.devnull``, so that the interpreter's final flush into a broken pipe stays quiet."""
    if out is not sys.stdout and out is not sys.__stdout__:
        return
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)

# -- registries (imported lazily so that `--help` stays fast) -----------------------------------


def _objectives() -> dict[str, Any]:
    from core.objectives import OBJECTIVES

    return OBJECTIVES


def _strategies() -> dict[str, Any]:
    from core.strategies import STRATEGIES

    return STRATEGIES


def _optimizers() -> tuple[str, ...]:
    """Every name the sparse-grid strategy accepts as its surrogate optimizer."""
    from core.optimizers import OPTIMIZERS
    from core.strategies._sparse_grid_candidates import LBFGSB

    return ("none", LBFGSB, *OPTIMIZERS)


# -- argument types with messages that say what is valid ----------------------------------------


def _int_at_least(low: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} must be an integer >= {low}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{what} must be an integer >= {low}, got {value}")
        return value

    return parse


def _gamma(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"gamma must be a number in [0, 1], got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"gamma must be in [0, 1], got {value:g}")
    return value


def _option(text: str) -> tuple[str, Any, str]:
    """``KEY=VALUE`` as ``(key, value parsed as JSON or the bare string, text)``."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"an option must look like KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare string such as ranking=sgpp
    return key.strip(), value, text


class _Once(argparse.Action):
    """Store a flag's value; the flag given twice is an error naming both values."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        given = getattr(namespace, f"_given_{self.dest}", None)
        if given is not None:
            parser.error(
                f"{option_string} is given twice ({given} and {option_string} {values}); "
                "give it once"
            )
        setattr(namespace, f"_given_{self.dest}", f"{option_string} {values}")
        setattr(namespace, self.dest, values)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m core``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Hyperparameter optimization with adaptive sparse grids and baselines.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{list,run}")
    sub.required = True

    sub.add_parser(
        "list", help="show objectives, methods and optimizers",
        description="Show the registered objectives, search methods and surrogate optimizers.",
    )

    run = sub.add_parser(
        "run", help="minimize one objective with one method",
        description="Minimize an objective with a search method; prints a results table.",
        epilog="Valid names: see `python -m core list`.",
    )
    run.add_argument("--objective", required=True, metavar="NAME",
                     help="objective name (see `list`)")
    run.add_argument("--method", required=True, metavar="NAME",
                     help="search method (see `list`)")
    run.add_argument("--budget", required=True, type=_int_at_least(1, "--budget"), metavar="N",
                     help="maximal number of objective evaluations")
    run.add_argument("--seed", type=_int_at_least(0, "--seed"), default=0, metavar="S",
                     help="random seed; the same seed gives the same run, different seeds "
                          "different runs (grid search is deterministic and ignores it; "
                          "default 0)")
    run.add_argument("--gamma", type=_gamma, metavar="G", action=_Once,
                     help="adaptivity in [0, 1] (sparse_grid, adaptive_random): 1 space-filling, "
                          "0 greedy")
    run.add_argument("--optimizer", metavar="NAME", action=_Once,
                     help="surrogate optimizer of sparse_grid (see `list`; 'none' = best grid "
                          "point only)")
    run.add_argument("--dim", type=_int_at_least(1, "--dim"), metavar="D",
                     help="dimension of a test-function objective (default: its registered one)")
    run.add_argument("--option", type=_option, action="append", default=[], metavar="KEY=VALUE",
                     help="further strategy option, VALUE parsed as JSON (e.g. degree=5, "
                          "ranking=sgpp); repeatable, one value per KEY")
    run.add_argument("--journal", type=Path, metavar="FILE",
                     help="append every evaluation to this JSON-lines file")
    run.add_argument("--resume", action="store_true",
                     help="continue the run recorded in --journal (same arguments)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_int_at_least(1, "--workers"), metavar="N",
                       help="evaluate in N local worker processes")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="evaluate on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    run.add_argument("--max-batch", type=_int_at_least(1, "--max-batch"), metavar="N",
                     help="at most N points per ask (default: the method's natural batch; with "
                          "--workers and bayesian use N = workers)")
    run.add_argument("--png", type=Path, metavar="FILE",
                     help="save the convergence plot (best value vs evaluations) as PNG")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


# -- list ----------------------------------------------------------------------------------------


def _rows_to_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def cmd_list(out: TextIO) -> int:
    from core.optimizers import GRADIENT_BASED, NEEDS_HESSIAN
    from core.strategies import strategy_options

    rows = [
        (name, obj.title, str(obj.space.dim), obj.metric)
        for name, obj in _objectives().items()
    ]
    out.write("Objectives (test functions take --dim where they support it)\n")
    out.write(_rows_to_text(("name", "title", "dim", "metric"), rows) + "\n\n")

    out.write("Methods (--method; options via --gamma, --optimizer, --option KEY=VALUE)\n")
    strategies = _strategies()
    width = max(len(n) for n in strategies)
    for name, cls in strategies.items():
        out.write(f"{name.ljust(width)}  {cls.title}\n")
        if cls.summary:
            out.write(textwrap.fill(
                cls.summary, width=99, initial_indent=" " * (width + 2),
                subsequent_indent=" " * (width + 2),
            ) + "\n")
        opts = ", ".join(f"{k}={v!r}" for k, v in strategy_options(name).items())
        text = textwrap.fill(
            f"options: {opts or 'none'}", width=99, initial_indent=" " * (width + 2),
            subsequent_indent=" " * (width + 11),
        )
        out.write(text + "\n")
    out.write("\n")

    rows = []
    for name in _optimizers():
        if name == "none":
            kind = "no surrogate optimization: best grid point"
        elif name == "lbfgsb":
            kind = "gradient-based (scipy's L-BFGS-B; default of the zoom variant)"
        elif name in NEEDS_HESSIAN:
            kind = "gradient + Hessian"
        elif name in GRADIENT_BASED:
            kind = "gradient-based"
        else:
            kind = "gradient-free"
        rows.append((name, kind))
    out.write("Surrogate optimizers (--optimizer, method sparse_grid)\n")
    out.write(_rows_to_text(("name", "kind"), rows) + "\n")
    return 0


# -- run -----------------------------------------------------------------------------------------


class _UsageError(Exception):
    """An argument combination that is invalid; reported with exit code 2."""


def _resolve_objective(name: str, dim: int | None) -> Any:
    objectives = _objectives()
    if name not in objectives:
        raise _UsageError(
            f"unknown objective {name!r}; valid objectives: {', '.join(objectives)}"
        )
    obj = objectives[name]
    if dim is None or dim == obj.space.dim:
        return obj
    if getattr(obj, "kind", "") != "test_function":
        raise _UsageError(
            f"--dim applies to test functions only; {name!r} has a fixed dimension "
            f"{obj.space.dim}"
        )
    try:
        return obj.function.objective(dim)
    except (TypeError, ValueError) as exc:
        raise _UsageError(f"--dim {dim}: {exc}") from None


def _strategy_options(args: argparse.Namespace) -> dict[str, Any]:
    from core.strategies import strategy_options

    strategies = _strategies()
    if args.method not in strategies:
        raise _UsageError(
            f"unknown method {args.method!r}; valid methods: {', '.join(strategies)}"
        )
    valid = strategy_options(args.method)
    options: dict[str, Any] = {}
    given: dict[str, str] = {}  # option -> how it was given, for the message on a second value
    for key, value, text in args.option:
        if key not in valid:
            raise _UsageError(
                f"unknown option {key!r} for method {args.method!r}; valid options: "
                f"{', '.join(valid) or 'none'}"
            )
        if key in given:
            raise _UsageError(
                f"option {key!r} is given twice ({given[key]} and --option {text}); give it once"
            )
        given[key] = f"--option {text}"
        options[key] = value
    for flag, key, value in (("--gamma", "gamma", args.gamma),
                             ("--optimizer", "optimizer", args.optimizer)):
        if value is not None and key in given:
            raise _UsageError(
                f"option {key!r} is given twice ({flag} {value} and {given[key]}); give it once"
            )
    if args.gamma is not None:
        if "gamma" not in valid:
            with_gamma = [m for m in strategies if "gamma" in strategy_options(m)]
            raise _UsageError(
                f"--gamma applies to the methods {', '.join(with_gamma)}, not {args.method!r}"
            )
        options["gamma"] = args.gamma
    if args.optimizer is not None:
        if "optimizer" not in valid:
            with_opt = [m for m in strategies if "optimizer" in strategy_options(m)]
            raise _UsageError(
                f"--optimizer applies to the methods {', '.join(with_opt)}, not {args.method!r}"
            )
        names = _optimizers()
        if args.optimizer not in names:
            raise _UsageError(
                f"unknown optimizer {args.optimizer!r}; valid optimizers: {', '.join(names)}"
            )
        options["optimizer"] = args.optimizer
    return options


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_table(res: Any, objective: Any, *, budget: int) -> str:
    """The results table of a finished run (two columns: field, value).

    Parameters
    ----------
    res : core.records.RunResult
    objective : Objective
        For its name and metric.
    budget : int
        The requested budget.
    """
    rows: list[tuple[str, str]] = [
        ("objective", f"{objective.name} ({objective.title})"),
        ("method", res.method),
    ]
    if res.x is None:
        rows.append(("best config", "- (no evaluation succeeded)"))
    else:
        for i, (k, v) in enumerate(res.x.items()):
            rows.append(("best config" if i == 0 else "", f"{k} = {_fmt_value(v)}"))
    rows.append((f"best value ({objective.metric})", _fmt_value(res.fun)))
    best = min(
        (e for e in res.history if e.ok), key=lambda e: e.value, default=None
    )
    if best is not None and "accuracy" in best.info:
        rows.append(("best accuracy", f"{100 * best.info['accuracy']:.2f} %"))
    f_opt = getattr(objective, "f_opt", None)
    if f_opt is not None and res.x is not None:
        rows.append(("known minimum", f"{_fmt_value(float(f_opt))} (gap {res.fun - f_opt:.3g})"))
    rows.append(("evaluations used", f"{res.nfev} of {budget}"))
    rows.append(("failures", str(res.n_failed)))
    rows.append(("stop reason", f"{res.stop_reason}: {res.message}"))
    detail = getattr(res, "stop_detail", "")
    if detail and detail != res.message:
        rows.append(("stop detail", detail))
    rows.append(("wall time", f"{res.seconds:.2f} s"))
    width = max(len(k) for k, _ in rows)
    rule = "-" * (width + 2 + max(len(v) for _, v in rows))
    lines = ["Results", rule]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append(rule)
    return "\n".join(lines)


def save_convergence_png(res: Any, path: str | Path, *, title: str = "", metric: str = "") -> Path:
    """Plot every value and the best-so-far curve against the evaluation number; save as PNG.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend state).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    values = res.values
    n = np.arange(1, len(values) + 1)
    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ok = np.isfinite(values)
    ax.scatter(n[ok], values[ok], s=10, color="0.6", label="evaluation")
    if (~ok).any():
        ax.scatter(n[~ok], np.full((~ok).sum(), np.nanmax(values) if ok.any() else 0.0),
                   marker="x", color="tab:red", s=14, label="failed")
    ax.step(n, res.best_curve(), where="post", color="tab:blue", lw=2, label="best so far")
    ax.set_xlabel("evaluations")
    ax.set_ylabel(metric or "value")
    if ok.any() and np.nanmin(values) > 0 and np.nanmax(values) / np.nanmin(values) > 100:
        ax.set_yscale("log")
    ax.set_title(title or f"{res.method}: best {res.fun:.4g}")
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = check_png_path(path)
    fig.savefig(path, format="png")
    return path


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_png_path(path: str | Path) -> Path:
    """Check, before any work is spent, that a PNG can be written to ``path``.

    An existing file is replaced only if it is a PNG (an earlier plot); any other file is
    refused and left untouched.

    Raises
    ------
    ValueError
        The rule broken and the path.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory; give a file path")
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"the directory {str(parent)!r} does not exist")
    if path.exists():
        if not (path.is_file() and os.access(path, os.W_OK)):
            raise ValueError(f"{str(path)!r} exists and is not a writable file")
        with open(path, "rb") as f:
            start = f.read(len(_PNG_MAGIC))
        if start and start != _PNG_MAGIC:
            raise ValueError(
                f"{str(path)!r} exists and is not a PNG; it is not replaced (choose another "
                "file)"
            )
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"the directory {str(parent)!r} is not writable")
    return path


def _check_outputs(args: argparse.Namespace) -> None:
    if args.png is None:
        return
    try:
        check_png_path(args.png)
    except ValueError as exc:
        raise _UsageError(f"--png: {exc}") from None
    if args.journal is not None and args.png.resolve() == args.journal.resolve():
        raise _UsageError(
            f"--png and --journal must be different files, got {str(args.png)!r} for both"
        )


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from tqdm.auto import tqdm

    from core.run import minimize
    from core.strategies import make_strategy

    objective = _resolve_objective(args.objective, args.dim)
    options = _strategy_options(args)
    if args.resume and args.journal is None:
        raise _UsageError("--resume needs --journal FILE, the journal of the run to continue")
    if args.journal is not None:
        from core.journal import check_journal_path

        try:
            check_journal_path(args.journal, resume=args.resume)
        except OSError as exc:
            text = str(exc).replace("pass resume=True", "add --resume")
            raise _UsageError(f"--journal: {text}") from None
    _check_outputs(args)
    try:  # check the options and the budget before anything runs
        make_strategy(args.method, objective.space.dim, args.budget, seed=args.seed, **options)
    except (TypeError, ValueError) as exc:
        raise _UsageError(f"invalid settings for method {args.method!r}: {exc}") from None

    bar = tqdm(
        total=args.budget, desc=f"{args.method} on {objective.name}", unit="eval",
        disable=args.no_progress, file=err, dynamic_ncols=True,
    )
    lock = threading.Lock()
    started = threading.Event()  # set once the first evaluation ran or was replayed

    def tick() -> None:
        started.set()
        with lock:
            bar.update(1)

    def on_batch(batch: Any) -> None:
        with lock:
            bar.n = batch.nfev
            if batch.best is not None:
                bar.set_postfix(best=f"{batch.best.value:.4g}", refresh=False)
            bar.refresh()
        started.set()

    t0 = time.perf_counter()
    try:
        res = minimize(
            objective, objective.space, args.method, args.budget, seed=args.seed,
            journal=args.journal, resume=args.resume, n_workers=args.workers,
            scheduler=args.scheduler, max_batch=args.max_batch, callback=on_batch,
            on_evaluation=lambda _ev: tick(), **options,
        )
    except KeyboardInterrupt:
        bar.close()
        hint = " (the journal keeps what was done; add --resume to continue)" \
            if args.journal else ""
        err.write(f"{PROG}: interrupted after {time.perf_counter() - t0:.1f} s{hint}\n")
        return 130
    except (FileExistsError, FileNotFoundError, TypeError, ValueError) as exc:
        bar.close()
        if not started.is_set():  # failed while setting up or replaying: a usage problem
            raise _UsageError(str(exc)) from None
        raise
    bar.close()
    out.write(format_table(res, objective, budget=args.budget) + "\n")
    if args.png is not None:
        path = save_convergence_png(
            res, args.png, title=f"{res.method} on {objective.name}, budget {args.budget}",
            metric=objective.metric,
        )
        out.write(f"convergence plot: {path}\n")
    if args.journal is not None:
        out.write(f"journal: {args.journal}\n")
    return 0 if res.x is not None and math.isfinite(res.fun) else 1


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if err is None:  # standard error closed: messages go nowhere
        import io

        err = io.StringIO()
    if out is None:  # standard output closed (`python -m core list >&-`)
        err.write(f"{PROG}: standard output is closed; there is nowhere to print to\n")
        return 1
    parser = build_parser()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    except BrokenPipeError:  # --help into a closed pipe
        silence_stdout(out)
        return EXIT_BROKEN_PIPE
    try:
        if args.command == "list":
            code = cmd_list(out)
        else:
            code = cmd_run(args, out, err)
        out.flush()
        return code
    except BrokenPipeError:  # the reader of the output has gone (e.g. `| head -1`): quietly
        silence_stdout(out)
        return EXIT_BROKEN_PIPE
    except _UsageError as exc:
        sub = parser._subparsers._group_actions[0].choices[args.command]  # noqa: SLF001
        sub.print_usage(err)
        err.write(f"{sub.prog}: error: {exc}\n")
        return 2
    except OSError as exc:  # unreachable scheduler, unwritable journal, ...: no traceback
        err.write(f"{PROG}: the run failed: {type(exc).__name__}: {exc}\n")
        return 1
    except Exception as exc:  # noqa: BLE001 - report with the traceback, exit 1
        import traceback

        traceback.print_exc(file=err)
        err.write(f"{PROG}: the run failed: {type(exc).__name__}: {exc}\n")
        return 1
