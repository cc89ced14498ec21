"""The explorer's one door to vae_core: the model under exploration, its test digits, and every call on them.

Widgets and the app reach the model only through a :class:`Session`, so nothing else in vae_tui imports torch: the
app draws its first frame while this module (and torch with it) loads in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vae_core.atlas import Atlas, build_atlas, load_atlas
from vae_core.checkpoints import atomic_write, checkpoint_or_bundled, load_checkpoint
from vae_core.errors import VaeError
from vae_core.history import TrainingHistory
from vae_core.images import (
    MAX_GRID_SIDE,
    decode_points,
    gif_bytes,
    interpolation_frames,
    interpolation_points,
    latent_grid,
    latent_map,
    png_bytes,
    reconstruction_rows,
)
from vae_core.model import VAE
from vae_core.paths import atlas_path_for
from vae_core.picture_defaults import visible_scale
from vae_core.plugins import DATASETS
from vae_tui.follow import EXPLORER, RunFiles, RunRead
from vae_tui.geometry import Point


@dataclass(frozen=True)
class Nearest:
    """The test digit whose latent mean lies closest to a point."""

    image: np.ndarray
    label: int
    distance: float


@dataclass
class Session:
    """The model under exploration and the digits that give its latent plane meaning."""

    model: VAE
    name: str
    """How the status line names the checkpoint."""
    digits: Atlas | None = None
    """Test digits with their latent means: the atlas's at first, the whole test set once encoded."""
    test_set_dir: Path | None = None
    """Where to read the whole test set from in the background; None where there is none."""
    dataset: str = "mnist"
    run: RunFiles | None = None
    """The checkpoint's files on disk, for following a run; None for a session made in memory."""
    history: TrainingHistory | None = None
    """The run's training history, where one lies beside the checkpoint and could be read."""
    history_problem: str | None = None
    """Why the history beside the checkpoint could not be read, to say once."""

    max_grid_side = MAX_GRID_SIDE

    def decode(self, point: Point) -> np.ndarray:
        """The digit [28, 28] decoded at one latent point."""
        return decode_points(self.model, np.asarray([point], dtype=np.float32))[0]

    def grid(self, n: int, extent: float) -> np.ndarray:
        """The n×n grid over [-extent, extent]² as one image: exactly what `vae export-grid` writes."""
        return latent_grid(self.model, n, extent)

    def reconstructions(self, indices: np.ndarray) -> np.ndarray:
        """These test digits in a row above their reconstructions: one [56, 28·len] image."""
        assert self.digits is not None
        return reconstruction_rows(self.model, self.digits.images[indices])

    def nearest(self, point: Point) -> Nearest | None:
        """The nearest test digit in latent space, or None where there are no test digits."""
        if self.digits is None or len(self.digits) == 0:
            return None
        index = self.digits.nearest(point)
        distance = float(np.hypot(*(self.digits.means[index] - np.asarray(point, np.float32))))
        return Nearest(self.digits.images[index].numpy() / 255, int(self.digits.labels[index]), distance)

    def means_and_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """The test digits' latent means [N, 2] and labels [N] (empty without digits)."""
        if self.digits is None:
            return np.zeros((0, 2), np.float32), np.zeros(0, np.int64)
        return self.digits.means, self.digits.labels.numpy()

    def map_picture(self, extent: float) -> np.ndarray:
        """The test digits as a label-coloured scatter over [-extent, extent]², as `vae export-map` draws it."""
        return latent_map(*self.means_and_labels(), extent=extent)

    def walk(self, start: Point, end: Point, steps: int) -> list[Point]:
        """``steps`` evenly spaced points from start to end, ending exactly on ``end``."""
        points = [(float(x), float(y)) for x, y in interpolation_points(start, end, steps)]
        return [*points[:-1], end]

    def encode_test_set(self) -> Atlas:
        """Every test digit with its latent mean (the slow part: one encoder pass over the split)."""
        assert self.test_set_dir is not None
        return build_atlas(self.model, DATASETS.get(self.dataset).load("test", self.test_set_dir, download=False))

    def walk_gif(self, start: Point, end: Point) -> bytes:
        """The walk from start to end as an animated GIF: the bytes `vae interpolate X1 Y1 X2 Y2 OUT.gif` writes."""
        frames = interpolation_frames(self.model, start, end)
        return gif_bytes(frames, visible_scale(frames[0].shape))

    def epoch_map(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The history's sample digits' latent means [N, 2] at a recorded epoch, and their labels [N]."""
        assert self.history is not None
        index = [record.epoch for record in self.history.records].index(epoch)
        return self.history.means[index].astype(np.float32), self.history.labels

    def reread(self) -> Followed:
        """The run's files read again where training replaced them, the test digits re-encoded for new weights.

        Runs in a worker: the session itself changes only when the app applies the result (see ``follow``).
        """
        assert self.run is not None
        found = self.run.read()
        digits = self.digits
        if found.model is not None and digits is not None:
            digits = digits.for_model(found.model)
        return Followed(found, digits)

    def follow(self, followed: Followed) -> None:
        """Take over what :meth:`reread` found (on the event loop, between two decodes)."""
        if followed.found.model is not None:
            self.model, self.digits = followed.found.model, followed.digits
        if followed.found.history is not None:
            self.history = followed.found.history

    @staticmethod
    def png(image: np.ndarray) -> bytes:
        """An image as a PNG at full resolution."""
        return png_bytes(image)

    @staticmethod
    def write(data: bytes, path: Path) -> Path:
        """Write a file atomically: a reader never sees half of it."""
        atomic_write(path, data)
        return path


def open_session(checkpoint: Path | None, data_dir: Path | None) -> Session:
    """Load a checkpoint (the bundled one by default) with its atlas, and find its test set."""
    path = checkpoint_or_bundled(checkpoint)
    run = RunFiles(path)  # before the checkpoint is read: a replacement from now on counts as new
    model, info = load_checkpoint(path, task=EXPLORER)
    atlas_path = atlas_path_for(path)
    atlas = load_atlas(atlas_path).for_model(model) if atlas_path.is_file() else None
    dataset = str(info.provenance.get("dataset", "mnist"))
    if dataset not in DATASETS.names():
        dataset = "mnist"
    found = run.read()  # the history only: the checkpoint counts as read
    test_set_dir = find_test_set(dataset, data_dir)
    return Session(model, path.name, atlas, test_set_dir, dataset, run, found.history, found.problem)


@dataclass(frozen=True)
class Followed:
    """A run's files read again (:meth:`Session.reread`), with the test digits encoded by any new weights."""

    found: RunRead
    digits: Atlas | None


def find_test_set(dataset: str, data_dir: Path | None) -> Path | None:
    """``data_dir`` where given; else the download cache where it holds the test split; else None."""
    if data_dir is not None:
        return Path(data_dir)
    try:
        return DATASETS.get(dataset).cached_split("test")
    except VaeError:
        return None
