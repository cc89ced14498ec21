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
from vae_core.plugins import DATASETS
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
        return gif_bytes(interpolation_frames(self.model, start, end))

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
    model, info = load_checkpoint(path)
    if info.config.latent_dim != 2:
        raise VaeError(
            f"checkpoint {path} has a {info.config.latent_dim}-D latent space; "
            "the explorer walks a 2-D plane, so it needs a checkpoint trained with latent size 2"
        )
    atlas_path = atlas_path_for(path)
    atlas = load_atlas(atlas_path).for_model(model) if atlas_path.is_file() else None
    dataset = str(info.provenance.get("dataset", "mnist"))
    if dataset not in DATASETS.names():
        dataset = "mnist"
    return Session(model, path.name, atlas, find_test_set(dataset, data_dir), dataset)


def find_test_set(dataset: str, data_dir: Path | None) -> Path | None:
    """``data_dir`` where given; else the download cache where it holds the test split; else None."""
    if data_dir is not None:
        return Path(data_dir)
    try:
        return DATASETS.get(dataset).cached_split("test")
    except VaeError:
        return None
