"""What the JSON in vae-explorer's files may hold: provenance, a recipe as stored, a run's progress.

Built from the checks in ``vae_core.metadata``; the loaders in ``vae_core.checkpoints`` apply them to what they read.
"""

from __future__ import annotations

import math
from typing import Any

from vae_core.errors import VaeError
from vae_core.metadata import Check, anything, list_of, number, optional, record, text, whole
from vae_core.recipes import TrainConfig


def stored_recipe(value: Any, name: str) -> Any:
    """A recipe as provenance stores it: an object TrainConfig accepts."""
    if not isinstance(value, dict):
        raise VaeError(f"{name} must be an object, got {type(value).__name__}")
    try:
        TrainConfig.from_dict(value)
    except (VaeError, TypeError) as error:
        raise VaeError(f"{name} is not a valid recipe: {error}") from None
    return value


LOSS: Check = record({"bce": number(), "kl": number(), "total": number()}, optional_keys=frozenset({"total"}))
_PROVENANCE_FIELDS: dict[str, Check] = {
    "dataset": text,
    "dataset_source": text,
    "train_samples": whole(),
    "val_samples": whole(),
    "epochs": whole(),
    "best_epoch": whole(),
    "recipe": stored_recipe,
    "seed": whole(),
    "precision": text,
    "device": text,
    "test_loss": optional(LOSS),
    "val_loss": optional(number()),
    "train_seconds": number(low=0),
    "created": text,
    "command": text,
    "versions": record({}, open_ended=True),
    "resumed_with": list_of(text),
}
PROVENANCE: Check = record(_PROVENANCE_FIELDS, optional_keys=frozenset(_PROVENANCE_FIELDS), open_ended=True)
"""Where the weights came from: the keys vae-explorer writes are checked for type, any other key is shown as it is."""


def _progress_check() -> Check:
    epoch_ended = record(
        {
            "epoch": whole(1),
            "epochs": whole(1),
            "train": LOSS,
            "val": optional(LOSS),
            "test": optional(LOSS),
            "is_best": lambda value, name: value if isinstance(value, bool) else whole()(value, name),
            "samples_per_s": number(low=0),
            "elapsed_s": number(low=0),
        },
        optional_keys=frozenset({"epochs"}),
    )
    return record(
        {
            "epoch": whole(),
            "step": whole(),
            "best_val": number(allow_infinite=True),
            "best_epoch": whole(),
            "stale_epochs": whole(),
            "elapsed_s": number(low=0),
            "history": list_of(epoch_ended),
        }
    )


PROGRESS = _progress_check()
"""The trainer's counters and the history of its finished epochs, as a resume file holds them."""
RESUME_METADATA: Check = record(
    {
        "format": anything,
        "format_version": anything,
        "train_config": record({}, open_ended=True),
        "model_config": record({}, open_ended=True),
        "state": PROGRESS,
        "train_size": whole(1, 10**9),
        "provenance": PROVENANCE,
    },
    optional_keys=frozenset({"provenance"}),
)


def check_progress(progress: dict[str, Any], config: TrainConfig, train_size: int) -> None:
    """The counters agree with each other and with the run: one history entry per finished epoch, the step inside
    an epoch, the best epoch among those finished."""
    history = progress["history"]
    if len(history) != progress["epoch"]:
        raise VaeError(f"it has finished {progress['epoch']} epochs but a history of {len(history)}")
    if any(entry["epoch"] != index for index, entry in enumerate(history, 1)):
        raise VaeError("its history is out of order")
    if progress["best_epoch"] > progress["epoch"]:
        raise VaeError(f"its best epoch {progress['best_epoch']} is beyond its {progress['epoch']} finished epochs")
    images = train_size - round(train_size * config.val_fraction)
    steps_per_epoch = math.ceil(images / config.batch_size)
    if progress["step"] > steps_per_epoch:
        raise VaeError(f"it stopped at step {progress['step']} of an epoch of {steps_per_epoch} steps")
