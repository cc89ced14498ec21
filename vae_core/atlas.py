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
from vae_core.images import encode_means
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


def save_atlas(path: Path, atlas: Atlas, metadata: dict[str, Any] | None = None) -> None:
    """Write an atlas as safetensors (no pickles), atomically."""
    tensors = {"images": atlas.images, "labels": atlas.labels, "means": torch.from_numpy(atlas.means)}
    write_tensors(
        path,
        tensors,
        {"format": "vae-explorer-atlas", "format_version": 1, "source": atlas.source, **(metadata or {})},
    )


def load_atlas(path: Path) -> Atlas:
    """Read an atlas written by :func:`save_atlas`; a damaged file is a VaeError."""
    tensors, metadata = read_tensors(path, "atlas")
    if metadata.get("format") != "vae-explorer-atlas" or not {"images", "labels", "means"} <= tensors.keys():
        raise VaeError(f"atlas {path} is not a vae-explorer atlas")
    return Atlas(tensors["images"], tensors["labels"], tensors["means"].numpy(), metadata.get("source", ""))
