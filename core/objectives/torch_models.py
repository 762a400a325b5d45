"""Live neural-network objectives trained with torch on offline data (no downloads).

Two families, registered in :data:`core.objectives.OBJECTIVES`:

- :class:`MLPRegressionObjective` (``mlp_regression_2d``, ``_3d``, ``_5d``): a fully connected
  ReLU network ``Linear(p, neurons) -> ReLU -> [Linear(neurons, neurons) -> ReLU] x
  (hidden_layers - 1) -> Linear(neurons, 1)`` trained with Adam on the mean squared error.
  Value: **validation MSE** after the last epoch, in standardized target units (predicting the
  training mean scores about 1). Data: :func:`core.objectives.datasets.regression_data`
  (``"synthetic"`` by default, ``"diabetes"`` as an option).
- :class:`CNNClassifierObjective` (``cnn_digits_9d``): ``conv_layers`` blocks of
  ``ZeroPad2d('same') -> Conv2d(channels, kernel_size) -> ReLU -> MaxPool2d(pool_size)``, the pool
  applied only while the feature map is at least ``pool_size`` wide (so every configuration gives
  a valid network, down to 1 x 1 maps), then ``Flatten -> [Linear(fc_neurons) -> ReLU ->
  Dropout(dropout)] x fc_layers -> Linear(n_classes)``, trained with Adam on the cross-entropy.
  Value: **1 - validation accuracy** after the last epoch; the accuracy is in ``info``. Data:
  scikit-learn's 8 x 8 ``load_digits`` by default, or local MNIST IDX files
  (``dataset="mnist", data_dir=...``).

Search spaces (native units; ``log`` = uniform in log space on the unit cube)::

    mlp_regression_2d  epochs Int(1, 40), learning_rate Float(1e-5, 1, log)
                       fixed: batch_size 32, hidden_layers 1, neurons 32
    mlp_regression_3d  + batch_size Int(4, 256, log)
    mlp_regression_5d  + hidden_layers Int(1, 4), neurons Int(4, 64, log)
    cnn_digits_9d      epochs Int(1, 20), batch_size Int(16, 512, log),
                       learning_rate Float(1e-5, 1, log), conv_layers Int(1, 4),
                       fc_layers Int(1, 4), kernel_size Int(1, 5), pool_size Int(1, 4),
                       fc_neurons Int(8, 128, log), dropout Float(0, 0.8)
                       fixed: 16 channels per convolution

Behaviour shared by every objective here:

- ``torch`` and scikit-learn are imported inside the methods, never at import time.
- **Deterministic**: each call builds a fresh ``torch.Generator`` seeded with ``seed`` for the
  weight initialisation, the mini-batch shuffling and the dropout masks, and runs torch with
  ``n_threads`` threads (default 1, restored afterwards), so the same configuration gives the same
  value bit for bit, in any order, thread or process. No global RNG is read or seeded.
- **Failures never raise**: a non-finite training loss (divergence), a non-finite validation
  value, or any exception during data loading or training returns ``Measurement(nan, info)`` with
  ``info["error"]`` saying what happened (plus the curves so far). Only a configuration outside
  the space, or with missing or unknown keys, raises (``ValueError``/``TypeError`` naming the key).
- **Cancellable between epochs**: pass ``cancel=`` (any object with ``is_set()``, e.g. a
  ``threading.Event`` or a ``multiprocessing.Manager().Event()``) to ``__call__``, or set it on the
  objective with ``with_cancel(event)``. It is checked before training and after every epoch; when
  set, training stops and the call returns ``Measurement(nan, info)`` with
  ``info["cancelled"] = True``, ``info["error"] = "cancelled after k epochs"`` and the partial
  curves (a cancelled run is a failed evaluation, never a partial value).
- ``info`` always holds ``loss_curve`` (mean training loss per epoch), ``val_curve`` (the
  validation value per epoch, same metric as the result), ``epochs_run``, ``seconds``,
  ``n_parameters`` and, for the classifier, ``accuracy``.
- Objectives are frozen dataclasses and pickle without their cached data (process pools, Dask).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from core._validation import check_int
from core.objectives import datasets
from core.result import Measurement
from core.space import Float, Int, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "MLPRegressionObjective",
    "CNNClassifierObjective",
    "Network",
    "build_mlp",
    "build_cnn",
    "cnn_feature_sizes",
    "mlp_space",
    "cnn_space",
    "NN_OBJECTIVES",
]


class CancelLike(Protocol):
    def is_set(self) -> bool: ...


class _Failure(Exception):
    """Training stopped early (divergence or cancellation): ``info`` goes into the result."""

    def __init__(self, message: str, *, cancelled: bool = False) -> None:
        super().__init__(message)
        self.cancelled = cancelled


# -- spaces --------------------------------------------------------------------------------------
_MLP_PARAMS = {
    "epochs": Int(1, 40),
    "learning_rate": Float(1e-5, 1.0, log=True),
    "batch_size": Int(4, 256, log=True),
    "hidden_layers": Int(1, 4),
    "neurons": Int(4, 64, log=True),
}
_MLP_FIXED = {"batch_size": 32, "hidden_layers": 1, "neurons": 32}
_MLP_DIMS = {2: ("epochs", "learning_rate"), 3: ("epochs", "learning_rate", "batch_size")}
_MLP_DIMS[5] = tuple(_MLP_PARAMS)

_CNN_PARAMS = {
    "epochs": Int(1, 20),
    "batch_size": Int(16, 512, log=True),
    "learning_rate": Float(1e-5, 1.0, log=True),
    "conv_layers": Int(1, 4),
    "fc_layers": Int(1, 4),
    "kernel_size": Int(1, 5),
    "pool_size": Int(1, 4),
    "fc_neurons": Int(8, 128, log=True),
    "dropout": Float(0.0, 0.8),
}


def mlp_space(dim: int) -> SearchSpace:
    """The search space of ``mlp_regression_<dim>d`` (``dim`` in 2, 3, 5)."""
    if dim not in _MLP_DIMS:
        raise ValueError(f"`dim` must be one of {sorted(_MLP_DIMS)}, got dim={dim!r}")
    return SearchSpace({k: _MLP_PARAMS[k] for k in _MLP_DIMS[dim]})


def cnn_space() -> SearchSpace:
    """The 9-D search space of ``cnn_digits_9d``."""
    return SearchSpace(dict(_CNN_PARAMS))


# -- networks ------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Network:
    """A torch network as parameters plus a forward function.

    Attributes
    ----------
    module : torch.nn.Module
        Holds every parameter (for the optimizer and ``n_parameters``).
    forward : callable
        ``forward(x, train)`` -> output tensor; ``train=True`` applies dropout.
    """

    module: Any
    forward: Callable[[Any, bool], Any]

    def __call__(self, x: Any, train: bool = False) -> Any:
        return self.forward(x, train)

    @property
    def n_parameters(self) -> int:
        return int(sum(p.numel() for p in self.module.parameters()))


def _init_(module: Any, generator: torch.Generator) -> None:
    """torch's default init of Linear/Conv2d layers, drawn from ``generator`` (not global RNG)."""
    import torch

    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                torch.nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                fan_in = m.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                torch.nn.init.uniform_(m.bias, -bound, bound, generator=generator)


def _linear(n_in: int, n_out: int) -> Any:
    import torch

    return torch.nn.utils.skip_init(torch.nn.Linear, n_in, n_out)


def build_mlp(
    n_in: int, hidden_layers: int, neurons: int, *, generator: torch.Generator | None = None
) -> Network:
    """A ReLU MLP ``n_in -> neurons -> ... -> 1`` with ``hidden_layers`` hidden layers.

    Weights are drawn from ``generator`` (a fresh ``torch.Generator`` seeded 0 if None).
    """
    import torch

    check_int(hidden_layers, "hidden_layers", low=1)
    check_int(neurons, "neurons", low=1)
    layers: list[Any] = []
    width = n_in
    for _ in range(hidden_layers):
        layers += [_linear(width, neurons), torch.nn.ReLU()]
        width = neurons
    layers.append(_linear(width, 1))
    module = torch.nn.Sequential(*layers)
    _init_(module, generator if generator is not None else torch.Generator().manual_seed(0))

    def forward(x: Any, train: bool) -> Any:
        return module(x).squeeze(-1)

    return Network(module, forward)


def cnn_feature_sizes(image_size: int, conv_layers: int, pool_size: int) -> list[int]:
    """Feature-map width after each convolution block (pooling only while width >= pool_size).

    >>> cnn_feature_sizes(8, 4, 2)
    [4, 2, 1, 1]
    >>> cnn_feature_sizes(8, 3, 3)
    [2, 2, 2]
    """
    sizes, s = [], image_size
    for _ in range(conv_layers):
        if pool_size > 1 and s >= pool_size:
            s //= pool_size
        sizes.append(s)
    return sizes


def build_cnn(
    config: Mapping[str, Any],
    *,
    image_shape: tuple[int, int, int] = (1, 8, 8),
    n_classes: int = 10,
    channels: int = 16,
    generator: torch.Generator | None = None,
) -> Network:
    """The classifier network for ``config`` (the architecture keys of :func:`cnn_space`).

    Parameters
    ----------
    config : mapping
        Needs ``conv_layers``, ``kernel_size``, ``pool_size``, ``fc_layers``, ``fc_neurons``,
        ``dropout``.
    image_shape : (c, h, w)
        Input shape (square images: ``h == w``).
    generator : torch.Generator, optional
        Source of the initial weights and the dropout masks (seeded 0 if None).

    Notes
    -----
    Convolutions are padded 'same' (``(k - 1) // 2`` before, ``k // 2`` after, so even kernels
    keep the size too) and pooled with ``MaxPool2d(pool_size)`` only while the map is at least
    ``pool_size`` wide, so the flattened size ``channels * s^2`` is at least ``channels``.
    """
    import torch

    g = generator if generator is not None else torch.Generator().manual_seed(0)
    c, h, w = image_shape
    if h != w:
        raise ValueError(f"`image_shape` must be square, got image_shape={image_shape}")
    k, pool = int(config["kernel_size"]), int(config["pool_size"])
    features: list[Any] = []
    in_ch, s = c, h
    for s_next in cnn_feature_sizes(h, int(config["conv_layers"]), pool):
        features += [
            torch.nn.ZeroPad2d(((k - 1) // 2, k // 2, (k - 1) // 2, k // 2)),
            torch.nn.utils.skip_init(torch.nn.Conv2d, in_ch, channels, k),
            torch.nn.ReLU(),
        ]
        if s_next != s:
            features.append(torch.nn.MaxPool2d(pool))
        in_ch, s = channels, s_next
    features.append(torch.nn.Flatten())
    width = channels * s * s
    hidden = []
    for _ in range(int(config["fc_layers"])):
        hidden.append(_linear(width, int(config["fc_neurons"])))
        width = int(config["fc_neurons"])
    head = _linear(width, n_classes)
    feats = torch.nn.Sequential(*features)
    hidden_list = torch.nn.ModuleList(hidden)
    module = torch.nn.ModuleDict({"features": feats, "hidden": hidden_list, "head": head})
    _init_(module, g)
    p = float(config["dropout"])

    def forward(x: Any, train: bool) -> Any:
        z = feats(x)
        for layer in hidden_list:
            z = torch.relu(layer(z))
            if train and p > 0.0:  # dropout with masks from our own generator
                z = z * torch.empty_like(z).bernoulli_(1.0 - p, generator=g) / (1.0 - p)
        return head(z)

    return Network(module, forward)


# -- training ------------------------------------------------------------------------------------
def _as_tensors(split: datasets.Split) -> tuple[Any, Any, Any, Any]:
    import torch

    return tuple(  # type: ignore[return-value]
        torch.from_numpy(np.array(a))
        for a in (split.X_train, split.y_train, split.X_val, split.y_val)
    )


def _train(
    net: Network,
    data: tuple[Any, Any, Any, Any],
    *,
    loss_fn: Callable[[Any, Any], Any],
    val_fn: Callable[[Any, Any], tuple[float, dict[str, float]]],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    generator: torch.Generator,
    cancel: CancelLike | None,
    info: dict[str, Any],
) -> tuple[float, dict[str, float]]:
    """Adam on mini-batches; fills ``info`` curves per epoch; raises _Failure on stop."""
    import torch

    X, y, Xv, yv = data
    n = X.shape[0]
    opt = torch.optim.Adam(net.module.parameters(), lr=learning_rate)
    loss_curve: list[float] = info["loss_curve"]
    val_curve: list[float] = info["val_curve"]
    last: tuple[float, dict[str, float]] = (math.nan, {})
    for epoch in range(epochs):
        if cancel is not None and cancel.is_set():
            raise _Failure(f"cancelled after {epoch} epochs", cancelled=True)
        net.module.train()
        perm = torch.randperm(n, generator=generator)
        total = torch.zeros(())
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(X[idx], True), y[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * idx.shape[0]
        mean_loss = float(total) / n
        loss_curve.append(mean_loss)
        info["epochs_run"] = epoch + 1
        if not math.isfinite(mean_loss):
            raise _Failure(f"training diverged: non-finite training loss in epoch {epoch + 1}")
        net.module.eval()
        with torch.no_grad():
            last = val_fn(net(Xv, False), yv)
        val_curve.append(last[0])
    if not math.isfinite(last[0]):
        raise _Failure(f"non-finite validation value {last[0]} after {epochs} epochs")
    return last


@dataclass(frozen=True, eq=False)
class _TorchObjective:
    """Shared call logic: validation, threads, timing, cancellation and failure capture."""

    seed: int = 0
    data_seed: int = 0
    n_threads: int | None = 1
    cancel: Any = field(default=None, repr=False, compare=False)
    kind: str = field(default="neural_network", init=False)
    f_opt: float | None = field(default=None, init=False)
    x_opt: dict[str, Any] | None = field(default=None, init=False)

    def _check_common(self) -> None:
        check_int(self.seed, "seed", low=0)
        check_int(self.data_seed, "data_seed", low=0)
        if self.n_threads is not None:
            check_int(self.n_threads, "n_threads", low=1)

    # subclasses set: space, name, title, metric, _load(), _evaluate(config, data, g, cancel, info)
    space: SearchSpace = field(init=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_data", None)  # cached arrays are rebuilt in the worker
        state["cancel"] = None  # events do not travel; pass cancel= in the worker instead
        return state

    def data(self) -> datasets.Split:
        """The train/validation split (loaded once per object, not pickled)."""
        cached = self.__dict__.get("_data")
        if cached is None:
            cached = self._load()
            object.__setattr__(self, "_data", cached)
        return cached

    def _load(self) -> datasets.Split:  # pragma: no cover - abstract
        raise NotImplementedError

    def with_cancel(self, cancel: CancelLike | None) -> _TorchObjective:
        """A copy that checks ``cancel.is_set()`` between epochs of every call."""
        from dataclasses import replace

        return replace(self, cancel=cancel)

    def __call__(
        self, config: Mapping[str, Any], *, cancel: CancelLike | None = None
    ) -> Measurement:
        """Train on ``config`` and return the validation value (NaN on failure, never raises).

        Raises
        ------
        ValueError, TypeError
            If ``config`` has missing or unknown keys or a value outside the space.
        ImportError
            If torch is not installed.
        """
        config = self.space.validate(config)
        cancel = cancel if cancel is not None else self.cancel
        t0 = time.perf_counter()
        info: dict[str, Any] = {"loss_curve": [], "val_curve": [], "epochs_run": 0}
        try:
            import torch
        except ImportError as exc:  # an environment error, not a failed evaluation
            raise ImportError(
                f"the objective {self.name!r} needs torch: pip install 'torch>=2.2'"
            ) from exc

        previous_threads = torch.get_num_threads()
        if self.n_threads is not None:
            torch.set_num_threads(self.n_threads)
        try:
            g = torch.Generator().manual_seed(self.seed)
            value, extra = self._evaluate(config, self.data(), g, cancel, info)
            info.update(extra)
        except _Failure as exc:
            info["error"] = str(exc)
            if exc.cancelled:
                info["cancelled"] = True
            value = math.nan
        except Exception as exc:  # any failure in training becomes a NaN measurement
            info["error"] = f"{type(exc).__name__}: {exc}"
            value = math.nan
        finally:
            if self.n_threads is not None:
                torch.set_num_threads(previous_threads)
        info["seconds"] = time.perf_counter() - t0
        return Measurement(float(value), info)

    def _evaluate(
        self,
        config: dict[str, Any],
        data: datasets.Split,
        generator: torch.Generator,
        cancel: CancelLike | None,
        info: dict[str, Any],
    ) -> tuple[float, dict[str, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def default_config(self) -> dict[str, Any]:
        """The centre of the space (unit-cube point 0.5 in every dimension)."""
        return self.space.from_unit(np.full((1, self.space.dim), 0.5))[0]


@dataclass(frozen=True, eq=False)
class MLPRegressionObjective(_TorchObjective):
    """Validation MSE of a ReLU MLP trained with Adam (``mlp_regression_{2,3,5}d``).

    Parameters
    ----------
    dim : {2, 3, 5}
        Which hyperparameters are searched (see the module docstring); the others are fixed at
        ``batch_size=32``, ``hidden_layers=1``, ``neurons=32``.
    dataset : {"synthetic", "diabetes"}
    seed : int
        Seed of the torch generator (initial weights, shuffling); same seed, same value.
    data_seed : int
        Seed of the data generation / split (0 in the registry).
    n_threads : int or None
        torch threads during a call (None leaves torch's setting alone).
    cancel : object with ``is_set()``, optional
        Default cancel flag for every call.
    """

    dim: int = 2
    dataset: str = "synthetic"
    metric: str = field(default="validation MSE", init=False)

    def __post_init__(self) -> None:
        self._check_common()
        if self.dataset not in datasets.REGRESSION_DATASETS:
            raise ValueError(
                f"unknown regression dataset {self.dataset!r}; valid names: "
                f"{', '.join(datasets.REGRESSION_DATASETS)}"
            )
        object.__setattr__(self, "space", mlp_space(self.dim))

    @property
    def name(self) -> str:
        suffix = "" if self.dataset == "synthetic" else f"_{self.dataset}"
        return f"mlp_regression_{self.dim}d{suffix}"

    @property
    def title(self) -> str:
        data = "1-D synthetic" if self.dataset == "synthetic" else self.dataset
        return f"MLP regression ({self.dim}-D: {', '.join(self.space.names)}; {data} data)"

    def _load(self) -> datasets.Split:
        return datasets.regression_data(self.dataset, self.data_seed)

    def _evaluate(self, config, data, generator, cancel, info):  # type: ignore[override]
        import torch

        full = {**_MLP_FIXED, **config}
        net = build_mlp(
            data.X_train.shape[1], full["hidden_layers"], full["neurons"], generator=generator
        )
        info["n_parameters"] = net.n_parameters
        mse = torch.nn.functional.mse_loss

        def val_fn(pred: Any, target: Any) -> tuple[float, dict[str, float]]:
            return float(mse(pred, target)), {}

        value, extra = _train(
            net,
            _as_tensors(data),
            loss_fn=mse,
            val_fn=val_fn,
            epochs=full["epochs"],
            batch_size=full["batch_size"],
            learning_rate=full["learning_rate"],
            generator=generator,
            cancel=cancel,
            info=info,
        )
        return value, extra


@dataclass(frozen=True, eq=False)
class CNNClassifierObjective(_TorchObjective):
    """1 - validation accuracy of a small CNN trained with Adam (``cnn_digits_9d``).

    Parameters
    ----------
    dataset : {"digits", "mnist"}
        ``"mnist"`` reads local IDX files from ``data_dir`` (never downloads).
    data_dir : str or None
        Directory of the MNIST IDX files (``dataset="mnist"`` only).
    max_train, max_val : int or None
        Truncate MNIST's training / validation (official test) set to its first images.
    channels : int
        Channels of every convolution (16).
    seed, data_seed, n_threads, cancel
        As for :class:`MLPRegressionObjective`.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    max_train: int | None = None
    max_val: int | None = None
    channels: int = 16
    metric: str = field(default="1 - validation accuracy", init=False)

    def __post_init__(self) -> None:
        self._check_common()
        check_int(self.channels, "channels", low=1)
        if self.dataset not in datasets.CLASSIFICATION_DATASETS:
            raise ValueError(
                f"unknown classification dataset {self.dataset!r}; valid names: "
                f"{', '.join(datasets.CLASSIFICATION_DATASETS)}"
            )
        if self.dataset == "mnist" and self.data_dir is None:
            raise ValueError("dataset='mnist' needs `data_dir`, the directory of the IDX files")
        if self.data_dir is not None:
            object.__setattr__(self, "data_dir", os.fspath(self.data_dir))
        object.__setattr__(self, "space", cnn_space())

    @property
    def name(self) -> str:
        return "cnn_digits_9d" if self.dataset == "digits" else f"cnn_{self.dataset}_9d"

    @property
    def title(self) -> str:
        data = "8x8 digits" if self.dataset == "digits" else "MNIST"
        return f"CNN classifier (9-D; {data})"

    def _load(self) -> datasets.Split:
        return datasets.classification_data(
            self.dataset,
            self.data_seed,
            data_dir=self.data_dir,
            max_train=self.max_train,
            max_val=self.max_val,
        )

    def _evaluate(self, config, data, generator, cancel, info):  # type: ignore[override]
        import torch

        net = build_cnn(
            config,
            image_shape=tuple(data.X_train.shape[1:]),
            n_classes=data.n_classes,
            channels=self.channels,
            generator=generator,
        )
        info["n_parameters"] = net.n_parameters
        ce = torch.nn.functional.cross_entropy

        def val_fn(logits: Any, target: Any) -> tuple[float, dict[str, float]]:
            accuracy = float((logits.argmax(dim=1) == target).float().mean())
            return 1.0 - accuracy, {"accuracy": accuracy, "val_loss": float(ce(logits, target))}

        return _train(
            net,
            _as_tensors(data),
            loss_fn=ce,
            val_fn=val_fn,
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            learning_rate=config["learning_rate"],
            generator=generator,
            cancel=cancel,
            info=info,
        )


def _registry() -> dict[str, _TorchObjective]:
    objs: list[_TorchObjective] = [MLPRegressionObjective(dim=d) for d in (2, 3, 5)]
    objs.append(CNNClassifierObjective())
    return {o.name: o for o in objs}


NN_OBJECTIVES: dict[str, _TorchObjective] = _registry()
"""The registered neural-network objectives by name (no torch imported to build them)."""
