"""The recipes: their checks, their descriptions, and what a stored recipe reads back as."""

import pytest

from vae_core.errors import VaeError
from vae_core.recipes import ADAM_BETA2, DEFAULT_RECIPE, RECIPES, TrainConfig, recipe, recipe_note


def test_each_recipe_describes_itself_from_its_own_fields():
    assert RECIPES["fast"].describe() == (
        "fast: 12 epochs, batch 256, lr 0.006 onecycle, warm-up 5%, Adam β₂ 0.99, EMA 0.99, "
        "output bias at the mean image, seed 0"
    )
    assert RECIPES["plain"].describe() == "plain: 30 epochs, batch 128, lr 0.001 constant, seed 0"
    assert recipe("default", epochs=1, seed=3).describe() == (
        "default: 1 epoch, batch 256, lr 0.003 onecycle, warm-up 30%, EMA 0.998, binarized encoder input, "
        "output bias at the mean image, seed 3"
    )
    assert "Adam" not in TrainConfig(adam_beta2=ADAM_BETA2).describe()


def test_a_recipes_note_carries_its_own_numbers():
    assert recipe_note("fast").startswith(f"{RECIPES['fast'].epochs} epochs")
    assert f"{RECIPES['plain'].epochs} epochs" in recipe_note("plain")
    assert DEFAULT_RECIPE in RECIPES and set(RECIPES) == {"default", "fast", "plain"}


def test_a_stored_recipe_reads_back_with_defaults_for_fields_it_lacks():
    stored = RECIPES["default"].to_dict()
    del stored["adam_beta2"]  # checkpoints written before that field existed
    assert TrainConfig.from_dict(stored | {"unknown": 1}) == RECIPES["default"]
    with pytest.raises(VaeError, match="epochs must be at least 1"):
        TrainConfig.from_dict(stored | {"epochs": 0})


def test_extending_a_recipe_only_lengthens_it():
    plain = RECIPES["plain"]
    assert plain.extended_to(None) is plain and plain.extended_to(10) is plain
    assert plain.extended_to(40).epochs == 40
    with pytest.raises(VaeError, match="epochs must be at least 1, got -1"):
        plain.extended_to(-1)
