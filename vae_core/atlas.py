"""The atlas: a few thousand test digits with their latent means, shipped beside a checkpoint.

It lets the explorer draw the map, find the nearest real digit and show reconstructions on a machine
with no dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vae_core.checkpoints import read_tensors, write_tensors
from vae_core.data import ImageSet, seeded_sample
from vae_core.errors import VaeError
from vae_core.images import MAX_LATENT_COORDINATE, encode_means
from vae_core.metadata import anything, record, short, text
from vae_core.model import VAE

ATLAS_DIGITS = 3000
"""How many test digits an atlas holds unless asked otherwise: enough to draw the map, quick to encode."""


@dataclass
class Atlas:
    """Digits (uint8 [N, 28, 28]), their labels [N] and latent means [N, latent_dim] under one checkpoint."""

    images: torch.Tensor
    labels: torch.Tensor
    means: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    def nearest(self, point: tuple[float, float]) -> int:
        """Index of the digit whose latent mean is closest to ``point``."""
        if len(self) == 0:
            raise VaeError("the atlas holds no digits")
        return int(np.argmin(((self.means - np.asarray(point, np.float32)) ** 2).sum(axis=1)))

    def for_model(self, model: VAE, probe: int = 64) -> Atlas:
        """This atlas, its means re-encoded where they are not ``model``'s (an old atlas beside a retrained checkpoint).

        A probe of the first digits decides, so a matching atlas costs one small encoder pass.
        """
        if np.allclose(encode_means(model, self.images[:probe]), self.means[:probe], atol=1e-3):
            return self
        return replace(self, means=encode_means(model, self.images))


def atlas_sample(size: int, count: int | None = ATLAS_DIGITS, seed: int = 0) -> torch.Tensor:
    """Indices, sorted, of the ``count`` of ``size`` test digits an atlas holds (all where None); the training history
    records the same ones, so the explorer can colour either with the other's labels."""
    return seeded_sample(size, count, seed).sort().values


def build_atlas(model: VAE, images: ImageSet, count: int | None = None, seed: int = 0) -> Atlas:
    """Encode ``count`` digits drawn at random (seeded) from ``images`` (all of them where count is None)."""
    chosen = atlas_sample(len(images), count, seed)
    digits, labels = images.images[chosen].cpu(), images.labels[chosen].cpu()
    return Atlas(digits, labels, encode_means(model, digits), images.describe())


def atlas_digits(path: Path, dataset: str) -> ImageSet:
    """An atlas's digits as a test split, for pictures of the test set on a machine without the dataset."""
    atlas = load_atlas(path)
    return ImageSet(atlas.images, atlas.labels, dataset, "test", f"the atlas {path}", canonical=False)


def fitted_extent(means: np.ndarray) -> float:
    """The smallest whole number r whose square [-r, r]² holds every point (at least 1): a map's range."""
    finite = np.abs(means[np.isfinite(means).all(axis=1)]) if len(means) else np.zeros((0, 2))
    return float(max(1.0, np.ceil(finite.max()) if len(finite) else 1.0))


def save_atlas(path: Path, atlas: Atlas, metadata: dict[str, Any] | None = None) -> None:
    """Write an atlas as safetensors (no pickles), atomically."""
    tensors = {"images": atlas.images, "labels": atlas.labels, "means": torch.from_numpy(atlas.means)}
    write_tensors(
        path,
        tensors,
        {"format": "vae-explorer-atlas", "format_version": 1, "source": atlas.source, **(metadata or {})},
    )


ATLAS_METADATA = record(
    {"format": anything, "format_version": anything, "source": text, "checkpoint": text},
    optional_keys=frozenset({"source", "checkpoint"}),
    open_ended=True,
)


def load_atlas(path: Path) -> Atlas:
    """Read an atlas written by :func:`save_atlas`, checked whole: N uint8 28×28 digits, N labels 0-9 and N finite
    2-D float32 means. Anything else is a VaeError naming the file."""
    tensors, metadata = read_tensors(path, "atlas")
    if metadata.get("format") != "vae-explorer-atlas" or tensors.keys() != {"images", "labels", "means"}:
        raise VaeError(f"atlas {path} is not a vae-explorer atlas")
    if metadata.get("format_version") != 1:
        raise VaeError(f"atlas {path} has format version {short(metadata.get('format_version'))}; this reads 1")
    try:
        ATLAS_METADATA(metadata, "its metadata")
    except VaeError as error:
        raise VaeError(f"atlas {path} is damaged: {error}") from None
    problem = _tensor_problem(tensors["images"], tensors["labels"], tensors["means"])
    if problem:
        raise VaeError(f"atlas {path} is damaged: it holds {problem}")
    return Atlas(tensors["images"], tensors["labels"], tensors["means"].numpy(), metadata.get("source", ""))


def _tensor_problem(images: torch.Tensor, labels: torch.Tensor, means: torch.Tensor) -> str:
    """What is wrong with an atlas's tensors, in a few words; empty where nothing is."""
    count = len(labels) if labels.dim() == 1 else 0
    if count == 0:
        return f"labels of shape {list(labels.shape)}, not a list of digits"
    if images.dtype != torch.uint8 or tuple(images.shape) != (count, 28, 28):
        return f"images of shape {list(images.shape)} and {images.dtype}, not uint8 [{count}, 28, 28]"
    if labels.dtype != torch.int64 or labels.min() < 0 or labels.max() > 9:
        return f"labels of {labels.dtype} from {labels.min()} to {labels.max()}, not int64 from 0 to 9"
    if means.dtype != torch.float32 or tuple(means.shape) != (count, 2):
        return f"means of shape {list(means.shape)} and {means.dtype}, not float32 [{count}, 2]"
    if not (means.abs() <= MAX_LATENT_COORDINATE).all():  # False for NaN too
        return f"means beyond ±{MAX_LATENT_COORDINATE:g} (or not numbers), where no latent point lies"
    return ""
