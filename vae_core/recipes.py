"""Training recipes: the TrainConfig, the named recipes the project tested, and how to describe one to a person.

No torch here, so the command line can list, check and describe recipes before it pays for importing torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, get_args

from vae_core.errors import VaeError

Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
Schedule = Literal["constant", "onecycle"]
DEFAULT_RECIPE = "default"
ADAM_BETA2 = 0.999
"""Adam's usual second-moment decay; a recipe's description mentions it only where the recipe changes it."""
MAX_SEED = 2**63 - 1
"""The largest seed: torch's generators take 64-bit seeds, and training seeds its noise with ``seed + 1``."""


def check_seed(seed: int) -> int:
    """A seed torch's generators accept for every draw a run derives from it (0 to MAX_SEED)."""
    if not 0 <= seed <= MAX_SEED:
        raise VaeError(f"a seed must be a whole number from 0 to {MAX_SEED:,}, got {seed:,}")
    return seed


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe; ``RECIPES`` names the tested ones and the CLI's flags override single fields."""

    recipe: str = "custom"
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    schedule: Schedule = "constant"
    warmup_fraction: float = 0.3
    ema_decay: float = 0.0
    weight_decay: float = 0.0
    adam_beta2: float = ADAM_BETA2
    # The encoder sees a fresh Bernoulli draw of each training image while the decoder's target stays the gray
    # image: the objective is unchanged, but the amortized posterior cannot memorise the 24,680 images (~4 nats).
    binarize_input: bool = False
    # The decoder's output bias starts at the logit of the mean training image, so step 1 need not learn it.
    init_output_bias: bool = False
    val_fraction: float = 0.1
    patience: int = 0
    seed: int = 0
    precision: Precision = "fp32"
    eval_batch_size: int = 2000

    def __post_init__(self) -> None:
        self._check_types()
        check_seed(self.seed)
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise VaeError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise VaeError(f"learning rate must be a positive number, got {self.lr}")
        if not 0 <= self.val_fraction < 1:
            raise VaeError(f"validation fraction must be in [0, 1), got {self.val_fraction}")
        if not 0 <= self.ema_decay < 1:
            raise VaeError(f"EMA decay must be in [0, 1), got {self.ema_decay}")
        if not 0 <= self.warmup_fraction <= 1:
            raise VaeError(f"warm-up fraction must be in [0, 1], got {self.warmup_fraction}")
        if not 0 <= self.weight_decay < math.inf or self.patience < 0:
            raise VaeError("weight decay must be a finite number and patience a count, neither negative")
        if not 0 <= self.adam_beta2 < 1:
            raise VaeError(f"Adam beta2 must be in [0, 1), got {self.adam_beta2}")

    def _check_types(self) -> None:
        """Each field of the type it is declared with: a recipe may come from a file (a checkpoint, a resume state)."""
        for item in fields(self):
            value, kind = getattr(self, item.name), item.type
            choices = {"Precision": PRECISIONS, "Schedule": get_args(Schedule)}.get(kind, ())
            if choices:
                ok = value in choices and isinstance(value, str)
            elif kind == "bool":
                ok = isinstance(value, bool)
            elif kind == "int":
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif kind == "float":
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            else:
                ok = isinstance(value, str) and len(value) <= 100
            if not ok:
                shown = repr(value) if len(repr(value)) < 40 else type(value).__name__
                raise VaeError(f"the recipe's {item.name.replace('_', ' ')} cannot be {shown}")

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> TrainConfig:
        """A recipe as a checkpoint stores it; fields it lacks (written by an older version) take their defaults."""
        known = {item.name for item in fields(cls)}
        return cls(**{key: value for key, value in stored.items() if key in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def extended_to(self, epochs: int | None) -> TrainConfig:
        """This recipe run for ``epochs`` in all where that is longer (None keeps its length): a resume's length."""
        if epochs is None:
            return self
        requested = replace(self, epochs=epochs)  # checked as any recipe's length is
        return requested if requested.epochs > self.epochs else self

    def describe(self) -> str:
        """One line for people: 'fast: 12 epochs, batch 256, lr 0.006 onecycle, warm-up 5%, ...'."""
        parts = [
            f"{self.epochs} epoch{'' if self.epochs == 1 else 's'}",
            f"batch {self.batch_size}",
            f"lr {self.lr:g} {self.schedule}",
        ]
        if self.schedule == "onecycle":
            parts.append(f"warm-up {self.warmup_fraction:.0%}")
        if self.adam_beta2 != ADAM_BETA2:
            parts.append(f"Adam β₂ {self.adam_beta2:g}")
        if self.ema_decay:
            parts.append(f"EMA {self.ema_decay:g}")
        if self.binarize_input:
            parts.append("binarized encoder input")
        if self.init_output_bias:
            parts.append("output bias at the mean image")
        parts.append(f"seed {self.seed}")
        return f"{self.recipe}: {', '.join(parts)}"


RECIPES: dict[str, TrainConfig] = {
    "default": TrainConfig(
        recipe="default",
        epochs=150,
        batch_size=256,
        lr=3e-3,
        schedule="onecycle",
        warmup_fraction=0.3,
        ema_decay=0.998,
        binarize_input=True,
        init_output_bias=True,
        precision="auto",
    ),
    "fast": TrainConfig(
        recipe="fast",
        epochs=12,
        batch_size=256,
        lr=6e-3,
        schedule="onecycle",
        warmup_fraction=0.05,
        ema_decay=0.99,
        adam_beta2=0.99,
        init_output_bias=True,
        val_fraction=0.0,
        precision="auto",
    ),
    "plain": TrainConfig(recipe="plain", epochs=30, batch_size=128, lr=1e-3, schedule="constant", precision="fp32"),
}

RECIPE_NOTES = {
    "default": "{epochs} epochs, one-cycle schedule, EMA weights, binarized encoder input (about 140 nats)",
    "fast": "{epochs} epochs, below 150 nats in about a quarter of plain's time",
    "plain": "the tutorial loop, {epochs} epochs at a constant rate",
}
"""What each recipe is for, as measured (benchmarks/recipes.py); its numbers are filled in from the recipe."""


def recipe(name: str, **overrides: Any) -> TrainConfig:
    """A named recipe with some fields replaced (``None`` values are ignored, as from unset CLI flags)."""
    if name not in RECIPES:
        raise VaeError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    return replace(RECIPES[name], **{key: value for key, value in overrides.items() if value is not None})


def learning_rate(step: int, total_steps: int, config: TrainConfig) -> float:
    """The learning rate at a global step: constant, or one-cycle (cosine up from lr/25, cosine down to lr/1e4)."""
    if config.schedule == "constant":
        return config.lr
    warmup = max(1, round(config.warmup_fraction * total_steps))
    start, end = config.lr / 25, config.lr / 1e4
    if step < warmup:
        return _cosine(start, config.lr, step / warmup)
    return _cosine(config.lr, end, (step - warmup) / max(1, total_steps - warmup))


def _cosine(begin: float, finish: float, fraction: float) -> float:
    return finish + (begin - finish) * (1 + math.cos(math.pi * min(1.0, fraction))) / 2


def recipe_note(name: str) -> str:
    """A named recipe's purpose in a few words, with its own numbers: '12 epochs, below 150 nats in ...'."""
    return RECIPE_NOTES[name].format(**RECIPES[name].to_dict())
