"""What a training run tells its front end, how it ends, and how a front end asks it to stop.

Events are plain frozen dataclasses sent to any callable; the run's history is the list of its EpochEnded events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from vae_core.errors import VaeError
from vae_core.evaluation import LossSummary
from vae_core.model import VAE
from vae_core.recipes import TrainConfig

COLLAPSE_KL_NATS = 0.5
"""A validation KL below this many nats per image means the latent code carries (almost) nothing."""


@dataclass(frozen=True)
class TrainStarted:
    config: TrainConfig
    device: str
    precision: str
    train_size: int
    val_size: int
    test_size: int
    steps_per_epoch: int
    start_epoch: int
    start_step: int


@dataclass(frozen=True)
class StepsDone:
    """Sent a few times a second: where the run is and the epoch's running loss so far."""

    epoch: int
    step: int
    steps_per_epoch: int
    running: LossSummary
    samples_per_s: float
    lr: float


@dataclass(frozen=True)
class EpochEnded:
    """Sent when an epoch ends; the run's history is the list of these.

    ``val`` chose the kept weights; ``test`` is a cheap figure on a fixed seeded sample of the test set (1,000 images
    unless the run asked otherwise, all of a smaller set): the whole test set is measured once, as TrainResult.test.
    """

    epoch: int
    epochs: int
    train: LossSummary
    val: LossSummary | None
    test: LossSummary | None
    is_best: bool
    samples_per_s: float
    elapsed_s: float

    @property
    def kl_collapsed(self) -> bool:
        """Posterior collapse: the encoder's code carries almost no information about the image."""
        return (self.val or self.train).kl < COLLAPSE_KL_NATS

    @classmethod
    def from_dict(cls, stored: dict[str, Any], epochs: int) -> EpochEnded:
        """The event as ``dataclasses.asdict`` wrote it into a resume file (``epochs`` where it predates that field)."""
        losses = {name: stored[name] and LossSummary(**stored[name]) for name in ("train", "val", "test")}
        return cls(**({"epochs": epochs} | stored | losses))


@dataclass(frozen=True)
class CheckpointSaved:
    path: Path
    kind: Literal["best", "resume"]
    epoch: int


RunEnd = Literal["finished", "interrupted", "early-stopping"]
"""How a run ended."""


@dataclass
class TrainResult:
    model: VAE
    history: list[EpochEnded]
    best_epoch: int
    test: LossSummary | None
    stopped: RunEnd
    checkpoint: Path | None
    resume_file: Path | None


TrainEvent = TrainStarted | StepsDone | EpochEnded | CheckpointSaved
EventHandler = Callable[[TrainEvent], None]


class EpochRecorder(Protocol):
    """Keeps something per epoch that needs the weights, not just the figures (``vae_core.history`` keeps the map).

    Called with the averaged weights the checkpoint would hold, after the epoch's checkpoint and resume file are
    written (so a reader that follows the recorder's file finds the checkpoint of the same epoch already there); it
    must not draw from any random generator the training uses, or a resumed run would no longer match an unbroken one.
    """

    def epoch_ended(self, event: EpochEnded, model: VAE) -> None: ...

    def run_ended(self, stopped: RunEnd) -> None: ...


class StopFlag:
    """Set from anywhere (a signal handler, a UI thread); the loop stops after the current step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


class TrainingDiverged(VaeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""
