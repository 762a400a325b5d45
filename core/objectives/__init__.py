"""Objectives: test functions and live neural-network objectives, by name.

``OBJECTIVES`` maps a name to an :class:`~core.objectives.base.Objective`. Test functions are
registered as 2-D objectives on their native domain; ``TEST_FUNCTIONS[name].objective(dim, shift)``
builds other dimensions and shifted variants. The neural-network objectives
(``mlp_regression_2d``, ``_3d``, ``_5d``, ``cnn_digits_9d``) come from
:mod:`core.objectives.torch_models`; importing this package does not import torch.
"""

from __future__ import annotations

from core.objectives.base import Objective, UserObjective
from core.objectives.test_functions import TEST_FUNCTIONS, TestFunction, TestFunctionObjective
from core.objectives.torch_models import (
    NN_OBJECTIVES,
    CNNClassifierObjective,
    MLPRegressionObjective,
)

__all__ = [
    "OBJECTIVES",
    "Objective",
    "UserObjective",
    "TEST_FUNCTIONS",
    "TestFunction",
    "TestFunctionObjective",
    "get_objective",
    "NN_OBJECTIVES",
    "MLPRegressionObjective",
    "CNNClassifierObjective",
]

OBJECTIVES: dict[str, Objective] = {name: f.objective() for name, f in TEST_FUNCTIONS.items()}
OBJECTIVES.update(NN_OBJECTIVES)  # torch is imported only when one of these is called


def get_objective(name: str) -> Objective:
    """Return the registered objective ``name``; an unknown name lists the valid ones."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(
            f"unknown objective {name!r}; valid names: {', '.join(sorted(OBJECTIVES))}"
        ) from None
