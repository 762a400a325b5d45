"""The optimizer menu offers what core offers, and a variant chosen plays as core runs it."""

from __future__ import annotations

from core.strategies import STRATEGIES, make_strategy, strategy_options
from explorer.background import entry_key
from explorer.model import Session
from explorer.objectives import optimizer_names, variant_defaults
from explorer.views.tables import entry_title, played_title


def test_optimizer_menu_offers_every_optimizer_core_offers():
    from core.optimizers import OPTIMIZERS

    names = optimizer_names()
    assert names[0] == "none"
    for cls in STRATEGIES.values():
        for name in getattr(cls, "option_choices", {}).get("optimizer", {}):
            assert name in names, name
    assert set(OPTIMIZERS) <= set(names)
    default = variant_defaults("sparse_grid", strategy_options("sparse_grid")["variant"])
    assert default["optimizer"] in names  # the default sparse grid's optimizer can be chosen


def test_choosing_the_default_variant_plays_cores_default_sparse_grid():
    s = Session()
    core_default = strategy_options("sparse_grid")["variant"]
    assert s.variant != core_default  # the page starts with the thesis' sparse grid
    s.variant = core_default
    assert s.optimizer == variant_defaults("sparse_grid", core_default)["optimizer"]
    entry = f"sparse_grid:{core_default}"
    assert s.run_key() == entry_key(s, entry, raced=True)  # the raced run, played
    assert played_title(s) == entry_title(entry)
    # the options are those of core's default strategy: the same points asked
    d, n = 2, 40
    ours = make_strategy("sparse_grid", d, n, seed=0, **s.strategy_options())
    plain = make_strategy("sparse_grid", d, n, seed=0)
    assert ours.optimizer == plain.optimizer
    assert (ours.ask() == plain.ask()).all()


def test_a_variant_switch_keeps_options_chosen_with_it():
    s = Session()
    s.param.update(variant="zoom", optimizer="nelder_mead")  # a link, a scene: both given
    assert s.optimizer == "nelder_mead"
    with s.options_given():
        s.variant = "thesis"
    assert s.optimizer == "nelder_mead"
    s.variant = "zoom"  # chosen on its own: the variant's optimizer
    assert s.optimizer == variant_defaults("sparse_grid", "zoom")["optimizer"]
    s.optimizer = "newton"
    assert played_title(s) == "Sparse grid (zoom, your options)"
