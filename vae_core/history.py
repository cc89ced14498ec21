"""A run's training history: each epoch's figures and the latent map of the atlas's test digits at that epoch.

``vae train`` keeps it beside the checkpoint (``NAME.history.safetensors``, see ``vae_core.paths``), rewritten
atomically at the end of every epoch, so a reader (the explorer following a run, a notebook, ``vae export-map
--animate``) always sees a whole file. The means are float16: about 12 KB per epoch for 3,000 digits, 1.8 MB for a
150-epoch run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import torch

from vae_core.atlas import ATLAS_DIGITS, atlas_sample
from vae_core.checkpoints import read_tensors, write_tensors
from vae_core.data import ImageSet
from vae_core.errors import VaeError
from vae_core.evaluation import LossSummary
from vae_core.events import EpochEnded, RunEnd
from vae_core.files import FileVersion, file_version
from vae_core.images import encode_means
from vae_core.model import VAE

HISTORY_FORMAT_NAME = "vae-explorer-history"
HISTORY_FORMAT_VERSION = 1
MAX_HISTORY_BYTES = 256 * 2**20
"""The largest history read: about 20,000 epochs of 3,000 digits. Checked before the file is read."""
MAX_EPOCHS = 10**7
MAX_SOURCE_CHARS = 1000
MAX_LATENT_DIM = 1024
FLOAT16_MAX = float(np.finfo(np.float16).max)

RunState = Literal["training", "finished", "interrupted", "early-stopping"]
"""Where the run stood when the file was last written: "training" until it ends, then how it ended. A run killed
without warning (or one that diverged) stays "training": the file's age tells."""
LossSplit = Literal["train", "val", "test"]
LOSS_SPLITS: tuple[LossSplit, ...] = get_args(LossSplit)
FIGURES = {"epoch": torch.int64, "epochs": torch.int64, "is_best": torch.bool}
FIGURES |= {name: torch.float64 for name in ("samples_per_s", "elapsed_s")}
"""The per-epoch scalars of an EpochEnded, stored as one tensor [E] each; the losses are [E, 2] (BCE, KL)."""
SAMPLE = {"labels": torch.int64, "sample_indices": torch.int64}


@dataclass(frozen=True)
class TrainingHistory:
    """What a history file holds: ``records[i]`` is an epoch's figures, ``means[i]`` its map.

    ``means`` is float16 [epochs recorded, digits, latent_dim]; ``labels`` [digits] and ``sample_indices`` [digits]
    (indices into the test set, those of an atlas with the same count and seed) are the same for every epoch.
    Epochs may be missing (a stretch trained with ``--no-history``), so look records up by their ``epoch``.
    """

    records: tuple[EpochEnded, ...]
    means: np.ndarray
    labels: np.ndarray
    sample_indices: np.ndarray
    epochs_planned: int
    state: RunState
    source: str = ""

    @property
    def last_epoch(self) -> int:
        return self.records[-1].epoch

    @property
    def training(self) -> bool:
        """Whether the run was still going when the file was written (see RunState for a run that died)."""
        return self.state == "training"

    def status(self) -> str:
        """A line for a status bar: "epoch 37/150, still training", "epoch 150/150, finished"..."""
        how = {"training": "still training", "early-stopping": "stopped early"}.get(self.state, self.state)
        return f"epoch {self.last_epoch}/{self.epochs_planned}, {how}"

    def loss_curve(self, split: LossSplit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(epochs, BCE, KL) of the epochs where ``split`` was measured: arrays to plot."""
        measured = [(r.epoch, getattr(r, split)) for r in self.records if getattr(r, split) is not None]
        return (
            np.array([epoch for epoch, _ in measured], np.int64),
            np.array([loss.bce for _, loss in measured], np.float64),
            np.array([loss.kl for _, loss in measured], np.float64),
        )


def load_history(path: Path) -> TrainingHistory:
    """Read and check a history file; a damaged, truncated or foreign one is a one-line VaeError naming it."""
    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_HISTORY_BYTES:
        raise VaeError(f"history {path} is larger than {MAX_HISTORY_BYTES // 2**20} MiB: not a history this writes")
    tensors, metadata = read_tensors(path, "history")
    try:
        return _parse(tensors, metadata)
    except (ValueError, TypeError, KeyError) as error:
        raise VaeError(f"history {path} is damaged or from another version: {error}") from None


def _parse(tensors: dict[str, torch.Tensor], metadata: dict[str, object]) -> TrainingHistory:
    """The history from a file's tensors and metadata; any inconsistency is a ValueError saying which."""
    if metadata.get("format") != HISTORY_FORMAT_NAME:
        raise ValueError("it is not a vae-explorer history")
    if metadata.get("format_version") != HISTORY_FORMAT_VERSION:
        raise ValueError(f"format version {metadata.get('format_version')!r}, this reads {HISTORY_FORMAT_VERSION}")
    planned, state, source = metadata.get("epochs_planned"), metadata.get("state"), metadata.get("source", "")
    if not _whole(planned) or not 1 <= planned <= MAX_EPOCHS:
        raise ValueError(f"epochs planned is {planned!r}")
    if state not in get_args(RunState):
        raise ValueError(f"run state is {state!r}")
    if not isinstance(source, str) or len(source) > MAX_SOURCE_CHARS:
        raise ValueError("its source is not a short text")
    losses = {name: torch.float64 for name in LOSS_SPLITS}
    expected = FIGURES | losses | SAMPLE | {"means": torch.float16}
    if tensors.keys() != expected.keys():
        raise ValueError(f"it holds {sorted(tensors)}, not {sorted(expected)}")
    for name, dtype in expected.items():
        if tensors[name].dtype != dtype:
            raise ValueError(f"{name} is {tensors[name].dtype}, not {dtype}")
    means, count = tensors["means"], len(tensors["epoch"])
    if means.ndim != 3 or not (count >= 1 and 1 <= means.shape[2] <= MAX_LATENT_DIM) or len(means) != count:
        raise ValueError(f"means have shape {tuple(means.shape)} for {count} epochs")
    shapes = {name: (count,) for name in FIGURES} | {name: (count, 2) for name in losses}
    shapes |= {name: (means.shape[1],) for name in SAMPLE}
    for name, shape in shapes.items():
        if tuple(tensors[name].shape) != shape:
            raise ValueError(f"{name} has shape {tuple(tensors[name].shape)}, not {shape}")
    epoch, epochs = tensors["epoch"], tensors["epochs"]
    if not (epoch >= 1).all() or not (epoch[1:] > epoch[:-1]).all() or not (epoch <= epochs).all():
        raise ValueError("its epoch numbers do not increase from 1 within their runs' lengths")
    if not (epochs <= planned).all():
        raise ValueError(f"an epoch's run length exceeds the {planned} epochs planned")
    # numpy, not torch: torch's isfinite on float16 is slow on a CPU (60 ms against 1 ms for 150 epochs).
    if not np.isfinite(means.numpy()).all() or not np.isfinite(tensors["train"].numpy()).all():
        raise ValueError("its means or training losses are not finite numbers")
    if (tensors["sample_indices"] < 0).any() or not ((tensors["labels"] >= 0) & (tensors["labels"] < 256)).all():
        raise ValueError("its digit indices or labels are out of range")
    columns = {name: tensors[name].tolist() for name in FIGURES}
    loss_rows = {name: tensors[name].tolist() for name in losses}
    records = tuple(
        EpochEnded(
            **{name: values[i] for name, values in columns.items()},
            **{name: _loss(rows[i]) for name, rows in loss_rows.items()},
        )
        for i in range(count)
    )
    return TrainingHistory(
        records,
        means.numpy(),
        tensors["labels"].numpy(),
        tensors["sample_indices"].numpy(),
        planned,
        state,
        source,
    )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _loss(row: list[float]) -> LossSummary | None:
    """A stored (BCE, KL) pair; NaN in both stands for "not measured"."""
    if all(math.isnan(value) for value in row):
        return None
    if not all(math.isfinite(value) for value in row):
        raise ValueError("a loss is partly missing or infinite")
    return LossSummary(*row)


def save_history(path: Path, history: TrainingHistory) -> None:
    """Write a history atomically (readers see the old file or the new one, never a part)."""
    records = history.records
    tensors = {name: torch.tensor([getattr(r, name) for r in records], dtype=dtype) for name, dtype in FIGURES.items()}
    for split in LOSS_SPLITS:
        pairs = [(loss.bce, loss.kl) if loss else (math.nan, math.nan) for loss in (getattr(r, split) for r in records)]
        tensors[split] = torch.tensor(pairs, dtype=torch.float64)
    tensors |= {
        "means": torch.from_numpy(np.ascontiguousarray(history.means, np.float16)),
        "labels": torch.from_numpy(np.asarray(history.labels, np.int64)),
        "sample_indices": torch.from_numpy(np.asarray(history.sample_indices, np.int64)),
    }
    metadata = {
        "format": HISTORY_FORMAT_NAME,
        "format_version": HISTORY_FORMAT_VERSION,
        "epochs_planned": history.epochs_planned,
        "state": history.state,
        "source": history.source,
    }
    write_tensors(path, tensors, metadata)


class HistoryRecorder:
    """Records a run's history into ``path`` (give it to ``train`` or ``resume`` as ``recorder``).

    Each epoch it encodes the atlas's test digits (``count`` drawn with ``seed`` from ``test_set``) with the
    averaged weights, in inference mode and without any random draw, so training goes on exactly as without it.
    A resumed run continues the file: epochs before the one that just ended are kept, any later ones (left by
    another run at the same path) are replaced. A file that cannot be read, or that followed other digits, is
    started afresh: an old history is never a reason to stop training.
    """

    def __init__(self, path: Path, test_set: ImageSet, count: int | None = ATLAS_DIGITS, seed: int = 0) -> None:
        self.path = Path(path)
        self.source = test_set.describe()
        self.sample_indices = atlas_sample(len(test_set), count, seed)
        self.digits = test_set.images[self.sample_indices]
        self.labels = test_set.labels[self.sample_indices].cpu().numpy()
        self.records: list[EpochEnded] = []
        self.means: list[np.ndarray] = []
        self.continued = False
        """Whether the file found at the start was looked at (its earlier epochs taken over where usable)."""

    def epoch_ended(self, event: EpochEnded, model: VAE) -> None:
        if not self.continued:
            self._continue_file(event.epoch)
        device = next(model.parameters()).device
        if self.digits.device != device:
            self.digits = self.digits.to(device)
        with torch.inference_mode():
            means = encode_means(model, self.digits)
        self.records.append(event)
        self.means.append(np.clip(means, -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16))
        self._write("training", event.epochs)

    def run_ended(self, stopped: RunEnd) -> None:
        if self.records:
            self._write(stopped, self.records[-1].epochs)

    def _continue_file(self, epoch: int) -> None:
        """Take over the file's epochs before ``epoch`` where it is a readable history of the same digits."""
        self.continued = True
        if epoch <= 1 or not self.path.is_file():
            return
        try:
            previous = load_history(self.path)
        except VaeError:
            return
        if not np.array_equal(previous.sample_indices, self.sample_indices.numpy()):
            return
        kept = [i for i, record in enumerate(previous.records) if record.epoch < epoch]
        self.records = [previous.records[i] for i in kept]
        self.means = [previous.means[i] for i in kept]

    def _write(self, state: RunState, epochs_planned: int) -> None:
        history = TrainingHistory(
            tuple(self.records),
            np.stack(self.means),
            self.labels,
            self.sample_indices.numpy(),
            epochs_planned,
            state,
            self.source,
        )
        save_history(self.path, history)


@dataclass
class HistoryFollower:
    """Follows a history file that a running ``vae train`` rewrites: ``poll()`` reads it only when it was replaced.

    Cheap to call a few times a second: an unchanged file costs one ``stat``. Atomic writes mean a poll never sees
    half a file.
    """

    path: Path
    history: TrainingHistory | None = field(default=None, init=False)
    _seen: FileVersion | None = field(default=None, init=False, repr=False)

    def poll(self) -> TrainingHistory | None:
        """The history where the file changed since the last poll, else None (also while there is no file yet).

        A damaged file raises VaeError; the next poll tries again only once the file is replaced.
        """
        try:
            seen = file_version(self.path)
        except OSError as error:
            raise VaeError(f"cannot read history {self.path}: {error.strerror or error}") from None
        if seen is None or seen == self._seen:
            return None
        self._seen = seen
        self.history = load_history(self.path)
        return self.history
