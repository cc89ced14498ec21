"""vae-explorer's library: a 2-D latent VAE for MNIST, its data, training, checkpoints and pictures.

Importing the package is cheap; torch loads when a name below is first used, so front ends stay quick.
"""

from importlib import import_module
from typing import Any

from vae_core.errors import VaeError

_EXPORTS = {
    "VAE": "vae_core.model",
    "VAEConfig": "vae_core.model",
    "vae_loss": "vae_core.model",
    "resolve_device": "vae_core.devices",
    "MNIST": "vae_core.data",
    "read_idx": "vae_core.data",
    "train": "vae_core.training",
    "resume": "vae_core.training",
    "recipe": "vae_core.recipes",
    "TrainConfig": "vae_core.recipes",
    "StopFlag": "vae_core.events",
    "negative_elbo": "vae_core.evaluation",
    "evaluate_model": "vae_core.evaluation",
    "load_checkpoint": "vae_core.checkpoints",
    "save_checkpoint": "vae_core.checkpoints",
    "load_history": "vae_core.history",
    "TrainingHistory": "vae_core.history",
    "HistoryRecorder": "vae_core.history",
    "bundled_checkpoint_path": "vae_core.paths",
    "MODELS": "vae_core.plugins",
    "DATASETS": "vae_core.plugins",
}

__all__ = ["VaeError", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vae_core' has no attribute {name!r}")
