"""Objectives: test functions and live neural-network objectives, by name.

``OBJECTIVES`` maps a name to an :class:`~core.objectives.base.Objective`. Test functions are
registered as 2-D objectives on their native domain; ``TEST_FUNCTIONS[name].objective(dim, shift)``
builds other dimensions and shifted variants.
"""

from __future__ import annotations

from core.objectives.base import Objective
from core.objectives.test_functions import TEST_FUNCTIONS, TestFunction, TestFunctionObjective

__all__ = [
    "OBJECTIVES",
    "Objective",
    "TEST_FUNCTIONS",
    "TestFunction",
    "TestFunctionObjective",
    "get_objective",
]

OBJECTIVES: dict[str, Objective] = {name: f.objective() for name, f in TEST_FUNCTIONS.items()}


def get_objective(name: str) -> Objective:
    """Return the registered objective ``name``; an unknown name lists the valid ones."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(
            f"unknown objective {name!r}; valid names: {', '.join(sorted(OBJECTIVES))}"
        ) from None
