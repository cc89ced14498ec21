"""The `vae` command: parse arguments, call vae_core, render with Rich. No model logic lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Train a 2-D latent VAE on MNIST and explore its latent space.", no_args_is_help=True)


@app.command()
def info(
    checkpoint: Annotated[Path | None, typer.Argument(help="Checkpoint file (default: the bundled one).")] = None,
) -> None:
    """Show a checkpoint's model config and provenance."""
    from vae_core.checkpoints import bundled_checkpoint_path, read_checkpoint_info

    info = read_checkpoint_info(checkpoint or bundled_checkpoint_path())
    typer.echo(info)
