"""Sparse grids: level/index arithmetic and Novak-Ritter adaptive generation."""

from __future__ import annotations

from core.grid.levels import (
    MAX_INITIAL_LEVEL,
    MAX_LEVEL,
    children,
    coordinates,
    left_chain_child,
    level_sum,
    parent,
    regular_grid,
    regular_grid_size,
    right_chain_child,
)
from core.grid.novak_ritter import NovakRitter, RefinementStep, novak_ritter_scores
from core.grid.ranking import RANKINGS

__all__ = [
    "MAX_INITIAL_LEVEL",
    "MAX_LEVEL",
    "RANKINGS",
    "NovakRitter",
    "RefinementStep",
    "children",
    "coordinates",
    "left_chain_child",
    "level_sum",
    "novak_ritter_scores",
    "parent",
    "regular_grid",
    "regular_grid_size",
    "right_chain_child",
]
