"""What the `vae` commands share: the console, a checkpoint or a dataset split loaded for a command, pictures
written and reported, and the guards of a training run (files it may replace, signals, its history).

Imported by cli.py alone; like it, it imports torch and the vae_core modules that need it inside the functions.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from cli_views import DownloadView, TrainView
from vae_core.errors import VaeError
from vae_core.files import check_output
from vae_core.picture_defaults import visible_scale

if TYPE_CHECKING:
    import numpy as np

    from vae_core.checkpoints import CheckpointInfo
    from vae_core.data import ImageSet
    from vae_core.events import StopFlag, TrainResult
    from vae_core.history import HistoryRecorder
    from vae_core.model import VAE
    from vae_core.recipes import TrainConfig

COMMAND_LINE = "vae.command_line"
"""Where the command line is kept in the Click context, for the provenance of a run."""
EXIT_INTERRUPTED = 130

# No markup: paths and commands are printed as they are, whatever brackets they hold.
console = Console(highlight=False, markup=False)


def history_recorder(checkpoint: Path, test_set: ImageSet) -> HistoryRecorder:
    """Records the run's history beside its checkpoint (continuing it on a resume)."""
    from vae_core.history import HistoryRecorder
    from vae_core.paths import history_path_for

    return HistoryRecorder(history_path_for(checkpoint), test_set)


def refuse_to_replace(out: Path, force: bool) -> None:
    """A new run writes ``out``, its resume state and its history after its first epoch: never over a finished model
    by accident, and never over a directory or a device even with --force. Checked before torch is imported."""
    from vae_core.paths import history_path_for, resume_path_for

    resume_file = resume_path_for(out)
    companions = (out, resume_file, history_path_for(out))
    for path in companions:
        check_output(path, force=True)
    existing = next((path for path in companions if path.exists()), None)
    if existing is not None and not force:
        hint = f", or --resume {out} to continue its training" if resume_file.exists() else ""
        raise VaeError(f"{existing} already exists: add --force to replace it{hint}")


@contextmanager
def stop_on_signals(stop: StopFlag) -> Iterator[None]:
    """Ctrl-C or SIGTERM asks the training loop to stop and save; a second Ctrl-C stops at once.

    After a Ctrl-C, later ones are ignored until the process ends: a held key sends dozens, and one landing in the
    interpreter's exit would print a traceback instead of the way to resume.
    """
    interrupted = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal interrupted
        if signum == signal.SIGINT:
            if interrupted:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                raise KeyboardInterrupt
            interrupted = True
        stop.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if signum == signal.SIGINT and interrupted else handler)


def write_map_animation(checkpoint: Path | None, out: Path, size: int, frame_ms: int) -> None:
    """The map at every epoch of the history beside ``checkpoint``, as a GIF: no model, no dataset needed."""
    from vae_core.animation import save_map_animation
    from vae_core.checkpoints import checkpoint_or_bundled
    from vae_core.history import load_history
    from vae_core.paths import history_path_for

    path = history_path_for(checkpoint_or_bundled(checkpoint))
    if not path.exists():
        raise VaeError(f"no training history beside the checkpoint (looked for {path}); `vae train` keeps one")
    history = load_history(path)
    frames = save_map_animation(history, out, size, frame_ms)
    what = f"{frames} epochs of {len(history.labels):,} test digits, {history.status()}"
    console.print(f"wrote {out} ({what})", soft_wrap=True)


def check_picture_output(out: Path, force: bool, *suffixes: str) -> None:
    """A picture's name ends in one of ``suffixes`` and may be written (see vae_core.files.check_output)."""
    if out.suffix.lower() not in suffixes:
        raise VaeError(f"{out}: the output name must end in {' or '.join(suffixes)}")
    check_output(out, force)


def write_png(image: np.ndarray, out: Path, scale: int | None, what: str) -> None:
    from vae_core.images import save_png

    scale = visible_scale(image.shape, scale)
    save_png(image, out, scale)
    report_written(out, image, scale, what)


def report_written(out: Path, image: np.ndarray, scale: int, what: str) -> None:
    console.print(f"wrote {out} ({image.shape[1] * scale}×{image.shape[0] * scale}, {what})", soft_wrap=True)


def atlas_output(checkpoint: Path | None, out: Path | None, force: bool) -> Path:
    """Where `vae atlas` may write: --out, else beside --checkpoint; never over a checkpoint or a resume state, and
    over an existing atlas only with --force."""
    from vae_core.paths import atlas_path_for

    if out is None and checkpoint is None:
        raise VaeError("the bundled checkpoint ships its atlas: pass --out PATH to write another, or --checkpoint")
    target = Path(out) if out is not None else atlas_path_for(Path(checkpoint))
    if target.suffix != ".safetensors":
        raise VaeError(f"{target}: an atlas's name must end in .safetensors")
    check_output(target, force)
    if target.exists():
        from vae_core.checkpoints import read_tensors

        kind = read_tensors(target, "file")[1].get("format")
        if kind != "vae-explorer-atlas":
            raise VaeError(f"{target} is not an atlas (its format is {kind!r}): choose another --out")
    return target


def load_model(
    checkpoint: Path | None, device: Any = "cpu", *, task: str, plane: bool = True
) -> tuple[VAE, CheckpointInfo]:
    """The named checkpoint's model, or the bundled one's, refused where its shape cannot do ``task``."""
    from vae_core.checkpoints import checkpoint_or_bundled, load_checkpoint

    return load_checkpoint(checkpoint_or_bundled(checkpoint), device, task, plane)


def load_split(dataset: str, split: str, data_dir: Path | None) -> ImageSet:
    """One split of a dataset, showing any download, then a line saying what was loaded."""
    from vae_core.plugins import DATASETS

    source = DATASETS.get(dataset)
    with DownloadView(console) as view:
        images = source.load(split, data_dir, progress=view)
    console.print(images.describe(), soft_wrap=True)
    return images


def test_split_or_atlas(checkpoint: Path | None, dataset: str, data_dir: Path | None) -> ImageSet:
    """The test split from --data-dir or the download cache; where neither has it, the digits of the checkpoint's
    atlas (the bundled checkpoint has one), so pictures of the test set work offline. Says which it used."""
    from vae_core.atlas import atlas_digits
    from vae_core.checkpoints import checkpoint_or_bundled
    from vae_core.paths import atlas_path_for
    from vae_core.plugins import DATASETS

    atlas_file = atlas_path_for(checkpoint_or_bundled(checkpoint))
    if data_dir is None and DATASETS.get(dataset).cached_split("test") is None and atlas_file.is_file():
        digits = atlas_digits(atlas_file, dataset)
        console.print(
            f"no {dataset} test set here: using the {len(digits):,} test digits of the atlas {atlas_file} "
            "(pass --data-dir for the whole test set)",
            soft_wrap=True,
        )
        return digits
    return load_split(dataset, "test", data_dir)


def run_training(
    ctx: typer.Context,
    config: TrainConfig | None,
    checkpoint: Path,
    device: Any,
    dataset: str,
    data_dir: Path | None,
    limit: int | None,
    epochs: int | None,
    resume_command: list[str],
    no_history: bool,
) -> TrainResult:
    """Load the data and train (a new run where ``config`` is given, else the resume of ``checkpoint``) under the
    live display; a second Ctrl-C ends at once, with the last saved state kept and the way to resume it shown."""
    from vae_core.events import StopFlag
    from vae_core.paths import resume_path_for
    from vae_core.training import resume as resume_training
    from vae_core.training import train as train_new

    train_set, test_set = load_split(dataset, "train", data_dir), load_split(dataset, "test", data_dir)
    if limit is not None and limit < len(train_set):
        train_set = train_set.subset(limit)
        console.print(f"training on the first {limit:,} of them")
    stop = StopFlag()
    provenance = {"command": ctx.meta.get(COMMAND_LINE, "vae train")}
    recorder = None if no_history else history_recorder(checkpoint, test_set)
    try:
        with TrainView(console, live=console.is_terminal) as view, stop_on_signals(stop):
            reporting = {"on_event": view, "stop": stop, "provenance": provenance, "recorder": recorder}
            if config is None:
                return resume_training(checkpoint, train_set, test_set, device, epochs=epochs, **reporting)
            return train_new(train_set, test_set, config, device, out=checkpoint, **reporting)
    except KeyboardInterrupt:
        console.print("stopped at once by a second Ctrl-C; the state saved at the end of the last epoch is kept")
        if resume_path_for(checkpoint).is_file():
            console.print(f"resume with: {shlex.join(resume_command)}", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
