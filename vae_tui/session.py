"""What the explorer opens: a checkpoint's model, the test digits to plot, and where the whole test set lives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vae_core.atlas import Atlas, build_atlas, load_atlas
from vae_core.checkpoints import atlas_path_for, bundled_checkpoint_path, load_checkpoint
from vae_core.errors import VaeError
from vae_core.model import VAE
from vae_core.plugins import DATASETS

NO_DIGITS_NOTE = (
    "No test digits to plot: this checkpoint has no atlas beside it and no test set was found. "
    "Start again with --data-dir DIR (a folder holding MNIST's IDX files), "
    "or run `vae train` once, which downloads MNIST."
)


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


def open_session(checkpoint: Path | None, data_dir: Path | None) -> Session:
    """Load a checkpoint (the bundled one by default) with its atlas, and find its test set."""
    path = Path(checkpoint) if checkpoint is not None else bundled_checkpoint_path()
    model, info = load_checkpoint(path)
    if info.config.latent_dim != 2:
        raise VaeError(
            f"checkpoint {path} has a {info.config.latent_dim}-D latent space; "
            "the explorer walks a 2-D plane, so it needs a checkpoint trained with latent size 2"
        )
    atlas_path = atlas_path_for(path)
    atlas = load_atlas(atlas_path) if atlas_path.is_file() else None
    dataset = str(info.provenance.get("dataset", "mnist"))
    if dataset not in DATASETS.names():
        dataset = "mnist"
    return Session(model, path.name, atlas, find_test_set(dataset, data_dir), dataset)


def find_test_set(dataset: str, data_dir: Path | None) -> Path | None:
    """``data_dir`` where given; else the download cache where it holds the test split; else None."""
    if data_dir is not None:
        return Path(data_dir)
    try:
        source = DATASETS.get(dataset)
        cache = source.cache_dir()
        files = source.files["test"]
    except (VaeError, AttributeError, KeyError):
        return None
    return cache if all((cache / f.name).is_file() for f in files) else None


def encode_test_set(model: VAE, dataset: str, data_dir: Path) -> Atlas:
    """Every test digit with its latent mean: the atlas of the whole split (slow part: the encoder pass)."""
    return build_atlas(model, DATASETS.get(dataset).load("test", data_dir, download=False))
