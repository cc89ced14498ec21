"""Where a checkpoint's companions live, and where the bundled checkpoint is: names only, no torch.

Kept apart from ``checkpoints`` so the command line can check its paths before it pays for importing torch.
"""

from __future__ import annotations

from pathlib import Path

from vae_core.errors import VaeError

BUNDLED_CHECKPOINT_NAME = "mnist-vae.safetensors"


def resume_path_for(checkpoint: Path) -> Path:
    """Where the training state of ``checkpoint`` lives: ``name.resume.safetensors`` beside it."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.name.removesuffix('.safetensors')}.resume.safetensors")


def atlas_path_for(checkpoint: Path) -> Path:
    """Where the atlas of ``checkpoint`` lives: ``name.atlas.safetensors`` beside it."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.name.removesuffix('.safetensors')}.atlas.safetensors")


def history_path_for(checkpoint: Path) -> Path:
    """Where the training history of ``checkpoint`` lives: ``name.history.safetensors`` beside it."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.name.removesuffix('.safetensors')}.history.safetensors")


def bundled_checkpoint_path() -> Path:
    """The pretrained checkpoint shipped with the package (wheel) or kept in the source tree's checkpoints/."""
    here = Path(__file__).resolve().parent
    for candidate in (
        here / "bundled" / BUNDLED_CHECKPOINT_NAME,
        here.parent / "checkpoints" / BUNDLED_CHECKPOINT_NAME,
    ):
        if candidate.is_file():
            return candidate
    raise VaeError(
        "the bundled checkpoint is missing from this installation; train one with `vae train` and pass --checkpoint"
    )
