"""Shared fixtures: the real MNIST directory where present, tiny checkpoints and IDX directories in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

MNIST_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """../shared/data/mnist from the project root; tests that need it are skipped where it is absent."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not found at {MNIST_DIR}")
    return MNIST_DIR


def fake_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 'digits' [count, 28, 28] with labels, for tests that need valid IDX data but not MNIST."""
    rng = np.random.default_rng(seed)
    images = (rng.random((count, 28, 28)) ** 4 * 255).astype(np.uint8)
    return images, (np.arange(count) % 10).astype(np.uint8)


@pytest.fixture
def idx_dir(tmp_path: Path) -> Path:
    """A directory in MNIST's layout holding 200 fake training and 100 fake test digits (gzip IDX)."""
    from vae_core.data import MNIST, write_idx

    for split, count in (("train", 200), ("test", 100)):
        images, labels = fake_digits(count, seed=count)
        images_file, labels_file = MNIST.files[split]
        write_idx(tmp_path / images_file.name, images)
        write_idx(tmp_path / labels_file.name, labels)
    return tmp_path


@pytest.fixture
def random_checkpoint(tmp_path: Path) -> Path:
    """A checkpoint of a VAE with seeded random weights: deterministic, made in milliseconds."""
    import torch

    from vae_core.checkpoints import save_checkpoint
    from vae_core.model import VAE

    torch.manual_seed(0)
    path = tmp_path / "random.safetensors"
    save_checkpoint(path, VAE(), {"dataset": "none", "note": "random weights for tests"})
    return path
