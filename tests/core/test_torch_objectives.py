"""Neural-network objectives: registry, spaces, determinism, failures, cancellation, networks."""

from __future__ import annotations

import itertools
import math
import pickle
import subprocess
import sys
import threading
from dataclasses import dataclass

import numpy as np
import pytest

from core.objectives import OBJECTIVES, get_objective
from core.objectives import torch_models as tm
from core.objectives.datasets import Split, write_idx
from core.result import Measurement

NN_NAMES = ["mlp_regression_2d", "mlp_regression_3d", "mlp_regression_5d", "cnn_digits_9d"]
SPACE_NAMES = {
    "mlp_regression_2d": ("epochs", "learning_rate"),
    "mlp_regression_3d": ("epochs", "learning_rate", "batch_size"),
    "mlp_regression_5d": ("epochs", "learning_rate", "batch_size", "hidden_layers", "neurons"),
    "cnn_digits_9d": (
        "epochs", "batch_size", "learning_rate", "conv_layers", "fc_layers", "kernel_size",
        "pool_size", "fc_neurons", "dropout",
    ),
}  # fmt: skip
CHEAP = {"epochs": 3, "learning_rate": 1e-2}


# -- registry and metadata (no training) --------------------------------------------------------
def test_registry_names_and_metadata():
    for name in NN_NAMES:
        obj = get_objective(name)
        assert obj.name == name
        assert obj.space.names == SPACE_NAMES[name]
        assert obj.kind == "neural_network"
        assert obj.f_opt is None and obj.x_opt is None
        assert obj.title and name.split("_")[0].upper() in obj.title
    assert OBJECTIVES["mlp_regression_2d"].metric == "validation MSE"
    assert OBJECTIVES["cnn_digits_9d"].metric == "1 - validation accuracy"
    assert "rosenbrock" in OBJECTIVES  # test functions stay registered
    with pytest.raises(ValueError, match="mlp_regression_2d"):
        get_objective("mlp_regression_4d")


def test_log_parameters_are_log():
    for name in NN_NAMES:
        space = OBJECTIVES[name].space
        assert space["learning_rate"].log and space["learning_rate"].low == 1e-5
        assert not space["epochs"].log


@pytest.mark.processes
def test_importing_objectives_does_not_import_torch():
    code = (
        "import sys, core.objectives as o; o.OBJECTIVES['cnn_digits_9d'].space;"
        "print('torch' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="dim=4"):
        tm.MLPRegressionObjective(dim=4)
    with pytest.raises(ValueError, match="synthetic, diabetes"):
        tm.MLPRegressionObjective(dataset="mnist")
    with pytest.raises(ValueError, match="data_dir"):
        tm.CNNClassifierObjective(dataset="mnist")
    with pytest.raises(ValueError, match="seed"):
        tm.MLPRegressionObjective(seed=-1)
    with pytest.raises(TypeError, match="n_threads"):
        tm.MLPRegressionObjective(n_threads=1.5)


@pytest.mark.parametrize(
    "config, match",
    [
        ({"epochs": 3}, r"missing \['learning_rate'\]"),
        ({"epochs": 3, "learning_rate": 1e-2, "momentum": 0.9}, r"unexpected \['momentum'\]"),
        ({"epochs": 0, "learning_rate": 1e-2}, "`epochs` must be in"),
        ({"epochs": 3, "learning_rate": 2.0}, "`learning_rate` must be in"),
    ],
)
def test_invalid_configs_raise_naming_the_key(config, match):
    with pytest.raises(ValueError, match=match):
        OBJECTIVES["mlp_regression_2d"](config)


def test_pickle_round_trip_drops_cache_and_cancel():
    for name in NN_NAMES:
        obj = tm.NN_OBJECTIVES[name].with_cancel(threading.Event())
        obj.data()  # fill the cache
        clone = pickle.loads(pickle.dumps(obj))
        assert type(clone) is type(obj) and clone.name == name
        assert clone.space == obj.space and clone.seed == obj.seed
        assert clone.cancel is None and "_data" not in clone.__dict__
        assert len(pickle.dumps(obj)) < 5000  # data is not shipped to workers


def test_default_config_is_the_centre():
    cnn = OBJECTIVES["cnn_digits_9d"].default_config
    assert cnn == {
        "epochs": 11, "batch_size": 89, "learning_rate": pytest.approx(10**-2.5),
        "conv_layers": 3, "fc_layers": 3, "kernel_size": 3, "pool_size": 3, "fc_neurons": 31,
        "dropout": pytest.approx(0.4),
    }  # fmt: skip


def test_feature_sizes_never_vanish():
    for size, layers, pool in itertools.product((1, 2, 5, 8, 28), range(1, 5), range(1, 5)):
        sizes = tm.cnn_feature_sizes(size, layers, pool)
        assert len(sizes) == layers and min(sizes) >= 1
        prev = size
        for s in sizes:
            assert s == prev or (pool > 1 and prev >= pool and s == prev // pool)
            prev = s


# -- networks (torch, no training) ------------------------------------------------------------
#: What ``build_cnn`` reads from a configuration (the test below checks that it reads no more):
#: the other options (epochs, batch size, learning rate) change the training, not the network.
CNN_NETWORK_OPTIONS = ("conv_layers", "fc_layers", "kernel_size", "pool_size", "fc_neurons",
                       "dropout")


class _Recording(dict):
    """A configuration that records which of its keys were read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


@pytest.mark.torch
def test_every_corner_of_the_cnn_space_builds_and_runs():
    """Every corner of the options the network is built from (2^6), each with the training
    options at one of their corners (they alternate, so each bound occurs): the network builds
    and gives finite outputs, with and without dropout; every architecture (dropout 0) also
    at MNIST's image size."""
    import torch

    space = OBJECTIVES["cnn_digits_9d"].space
    others = [name for name in space.names if name not in CNN_NETWORK_OPTIONS]
    x8, x28 = torch.rand(3, 1, 8, 8), torch.rand(2, 1, 28, 28)
    n = n_big = 0
    for i, corner in enumerate(itertools.product((0.0, 1.0), repeat=len(CNN_NETWORK_OPTIONS))):
        unit = dict(zip(CNN_NETWORK_OPTIONS, corner, strict=True))
        unit |= {name: float((i >> j) & 1) for j, name in enumerate(others)}
        config = _Recording(space.from_unit(np.array([[unit[k] for k in space.names]]))[0])
        net = tm.build_cnn(config, generator=torch.Generator().manual_seed(1))
        assert config.read <= set(CNN_NETWORK_OPTIONS), config.read
        for train in (False, True):
            out = net(x8, train)
            assert out.shape == (3, 10) and torch.isfinite(out).all(), config
        n += 1
        if config["dropout"] == 0.0:
            big = tm.build_cnn(config, image_shape=(1, 28, 28))  # MNIST-sized, 32 architectures
            assert big(x28, True).shape == (2, 10)
            n_big += 1
    assert (n, n_big) == (2**6, 2**5)


@pytest.mark.torch
def test_network_init_uses_only_the_given_generator():
    import torch

    state = torch.get_rng_state()
    config = OBJECTIVES["cnn_digits_9d"].default_config
    a = tm.build_cnn(config, generator=torch.Generator().manual_seed(5))
    b = tm.build_cnn(config, generator=torch.Generator().manual_seed(5))
    c = tm.build_cnn(config, generator=torch.Generator().manual_seed(6))
    pa, pb, pc = (torch.cat([p.flatten() for p in n.module.parameters()]) for n in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    assert torch.equal(state, torch.get_rng_state())
    # torch's default scale: |w| <= 1/sqrt(fan_in) (kaiming_uniform with a=sqrt(5))
    mlp = tm.build_mlp(3, 2, 8)
    w = mlp.module[0].weight
    assert w.abs().max() <= 1 / math.sqrt(3) and w.std() > 0.1
    assert mlp(torch.zeros(4, 3), False).shape == (4,)


@pytest.mark.torch
def test_dropout_masks_are_seeded():
    import torch

    config = {**OBJECTIVES["cnn_digits_9d"].default_config, "dropout": 0.5}
    x = torch.rand(4, 1, 8, 8)
    outs = []
    for _ in range(2):
        net = tm.build_cnn(config, generator=torch.Generator().manual_seed(3))
        outs.append(net(x, True))
    assert torch.equal(outs[0], outs[1])
    assert not torch.equal(outs[0], net(x, False))


# -- training behaviour ------------------------------------------------------------------------
@pytest.mark.torch
def test_mlp_is_deterministic_and_seed_dependent():
    import torch

    obj = OBJECTIVES["mlp_regression_2d"]
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    a, b = obj(CHEAP), obj(CHEAP)
    assert isinstance(a, Measurement) and math.isfinite(a.value)
    assert a.value == b.value and a.info["loss_curve"] == b.info["loss_curve"]
    assert a.info["val_curve"][-1] == a.value
    assert a.info["epochs_run"] == 3 and len(a.info["loss_curve"]) == 3
    assert a.info["seconds"] > 0 and a.info["n_parameters"] == 32 * 2 + 33
    assert "error" not in a.info
    other = tm.MLPRegressionObjective(seed=1)(CHEAP)
    assert other.value != a.value
    clone = pickle.loads(pickle.dumps(obj))
    assert clone(CHEAP).value == a.value
    assert torch.equal(state, torch.get_rng_state()) and torch.get_num_threads() == threads


@pytest.mark.torch
def test_mlp_learns_with_a_sensible_config():
    m = OBJECTIVES["mlp_regression_2d"]({"epochs": 40, "learning_rate": 1e-2})
    untrained = OBJECTIVES["mlp_regression_2d"]({"epochs": 1, "learning_rate": 1e-5})
    assert m.value < 0.2 < 0.5 < untrained.value
    assert m.info["loss_curve"][-1] < m.info["loss_curve"][0]


@pytest.mark.torch
def test_mlp_3d_5d_and_diabetes_run():
    m3 = OBJECTIVES["mlp_regression_3d"]({**CHEAP, "batch_size": 64})
    m5 = OBJECTIVES["mlp_regression_5d"](
        {**CHEAP, "batch_size": 64, "hidden_layers": 2, "neurons": 8}
    )
    assert math.isfinite(m3.value) and math.isfinite(m5.value)
    assert m5.info["n_parameters"] == (1 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    dia = tm.MLPRegressionObjective(dim=2, dataset="diabetes")
    assert dia.name == "mlp_regression_2d_diabetes"
    m = dia({"epochs": 20, "learning_rate": 1e-2})
    assert 0.3 < m.value < 0.9  # standardized: R^2 of about 0.5 on diabetes


@pytest.mark.torch
def test_cnn_good_config_reaches_95_percent_on_digits():
    good = {
        "epochs": 12, "batch_size": 32, "learning_rate": 3e-3, "conv_layers": 2, "fc_layers": 1,
        "kernel_size": 3, "pool_size": 2, "fc_neurons": 64, "dropout": 0.1,
    }  # fmt: skip
    m = OBJECTIVES["cnn_digits_9d"](good)
    assert m.info["accuracy"] >= 0.95
    assert m.value == pytest.approx(1.0 - m.info["accuracy"])
    assert len(m.info["val_curve"]) == 12 and m.info["val_curve"][-1] == m.value
    assert math.isfinite(m.info["val_loss"])


@dataclass(frozen=True, eq=False)
class _NaNTargets(tm.MLPRegressionObjective):
    """Training data with a NaN target: the loss is NaN in the first epoch."""

    def _load(self) -> Split:
        s = super()._load()
        y = s.y_train.copy()
        y[7] = np.nan
        return Split(s.name, s.X_train, y, s.X_val, s.y_val)


@pytest.mark.torch
def test_nan_loss_becomes_a_nan_measurement():
    m = _NaNTargets()(CHEAP)
    assert math.isnan(m.value)
    assert "non-finite training loss in epoch 1" in m.info["error"]
    assert m.info["epochs_run"] == 1 and math.isnan(m.info["loss_curve"][0])
    assert "cancelled" not in m.info


@pytest.mark.torch
def test_exception_inside_training_becomes_a_nan_measurement(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(tm, "build_mlp", boom)
    m = tm.MLPRegressionObjective()(CHEAP)
    assert math.isnan(m.value)
    assert m.info["error"] == "RuntimeError: out of memory (simulated)"
    assert m.info["seconds"] >= 0


@pytest.mark.torch
def test_diverging_cnn_never_raises():
    cfg = {**OBJECTIVES["cnn_digits_9d"].default_config, "learning_rate": 1.0, "epochs": 2}
    m = OBJECTIVES["cnn_digits_9d"](cfg)
    assert isinstance(m, Measurement)
    assert math.isnan(m.value) or m.info["accuracy"] < 0.5  # diverged or useless, but recorded


class _CancelAfter:
    """``is_set()`` turns True on its ``k+1``-th call (calls happen once per epoch)."""

    def __init__(self, k: int) -> None:
        self.k, self.calls = k, 0

    def is_set(self) -> bool:
        self.calls += 1
        return self.calls > self.k


@pytest.mark.torch
def test_cancellation_between_epochs():
    obj = OBJECTIVES["mlp_regression_2d"]
    cfg = {"epochs": 10, "learning_rate": 1e-2}
    event = threading.Event()
    event.set()
    m0 = obj(cfg, cancel=event)
    assert math.isnan(m0.value) and m0.info["cancelled"] is True
    assert m0.info["epochs_run"] == 0 and m0.info["error"] == "cancelled after 0 epochs"
    m3 = obj(cfg, cancel=_CancelAfter(3))
    assert math.isnan(m3.value) and m3.info["cancelled"]
    assert m3.info["epochs_run"] == 3 and len(m3.info["loss_curve"]) == 3
    full = obj(cfg)
    assert m3.info["loss_curve"] == full.info["loss_curve"][:3]  # same path until cancelled
    via_attribute = obj.with_cancel(event)(cfg)
    assert via_attribute.info["cancelled"]
    assert obj.cancel is None  # with_cancel returned a copy


@pytest.mark.torch
def test_cancel_from_another_thread_stops_a_long_run():
    obj = tm.MLPRegressionObjective(dim=5)
    event = threading.Event()
    cfg = {"epochs": 40, "learning_rate": 1e-3, "batch_size": 4, "hidden_layers": 4, "neurons": 64}
    timer = threading.Timer(0.2, event.set)  # the full run takes about 1.6 s here
    timer.start()
    m = obj(cfg, cancel=event)
    timer.join()
    assert m.info["cancelled"] and math.isnan(m.value)
    assert 0 <= m.info["epochs_run"] < 40 and m.info["seconds"] < 1.5


@pytest.mark.torch
def test_mnist_objective_on_small_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    for part, n in (("train", 60), ("t10k", 20)):
        write_idx(
            tmp_path / f"{part}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        write_idx(tmp_path / f"{part}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    obj = tm.CNNClassifierObjective(dataset="mnist", data_dir=tmp_path, max_train=40)
    assert obj.name == "cnn_mnist_9d" and obj.data().n_train == 40
    cfg = {**obj.default_config, "epochs": 1}
    m = obj(cfg)
    assert math.isfinite(m.value) and 0.0 <= m.info["accuracy"] <= 1.0
    assert m.value == pytest.approx(1.0 - m.info["accuracy"])
    assert m.value * 20 == pytest.approx(round(m.value * 20))  # 20 validation images
