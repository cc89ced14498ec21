"""The `vae` command: parse arguments, call vae_core, render with Rich. No model logic lives here.

torch and the vae_core modules that need it are imported inside the commands, so `vae --help` answers at once.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from vae_core.errors import VaeError

if TYPE_CHECKING:
    import numpy as np

    from vae_core.checkpoints import CheckpointInfo
    from vae_core.data import ImageSet
    from vae_core.model import VAE
    from vae_core.training import EpochEnded, LossSummary, StopFlag, TrainEvent, TrainResult, TrainStarted

DEFAULT_OUT = Path("vae-mnist.safetensors")
COMMAND_LINE = "vae.command_line"
EXIT_INTERRUPTED = 130
CPU_IW_IMAGES = 1000
"""Test images the importance-weighted estimate uses by default on a CPU, where all 10,000 take minutes."""

# No markup: paths and commands are printed as they are, whatever brackets they hold.
console = Console(highlight=False, markup=False)


class VaeGroup(TyperGroup):
    """The `vae` group: remembers the command line as typed, and turns a user's error into one line on stderr."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        ctx.meta[COMMAND_LINE] = shlex.join(["vae", *args])
        return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VaeError as error:
            fail(str(error))
        except OSError as error:
            fail(f"{error.filename}: {error.strerror}" if error.filename else str(error))


def fail(message: str) -> NoReturn:
    """Print ``error: message`` as a single line on stderr and exit with status 1."""
    typer.echo(f"{typer.style('error:', fg='red', bold=True)} {' '.join(message.split())}", err=True)
    raise typer.Exit(1)


app = typer.Typer(
    name="vae",
    cls=VaeGroup,
    help="Train a 2-D latent VAE on MNIST, export pictures of its latent space, and explore it in the terminal.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    # Plain help: Typer's Rich help formatter costs ~100 ms of imports, a third of the `vae --help` budget.
    rich_markup_mode=None,
)


class RecipeName(str, Enum):
    """The names of vae_core.training.RECIPES (a test keeps the two in step)."""

    default = "default"
    fast = "fast"
    plain = "plain"


class PrecisionName(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


class ColorMode(str, Enum):
    truecolor = "truecolor"
    colors_256 = "256"
    colors_16 = "16"
    none = "none"


CheckpointOption = Annotated[
    Path | None, typer.Option("--checkpoint", "-c", help="Checkpoint to use (default: the bundled one).")
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(help="Folder with the dataset's IDX files (default: the download cache, fetched on first use)."),
]
DatasetOption = Annotated[str, typer.Option(help="Dataset name: mnist, or one a plugin adds.")]
ScaleOption = Annotated[int, typer.Option(help="Enlarge the picture this many times (sharp pixels).")]
SeedOption = Annotated[int, typer.Option(help="Random seed.")]


def output_argument(suffixes: str) -> Any:
    return typer.Argument(metavar=f"OUT.{suffixes}", help=f"Picture to write ({suffixes.replace('|', ' or ')}).")


def coordinate(name: str) -> Any:
    return typer.Argument(metavar=name, help=f"Latent coordinate {name}.")


# Latent coordinates are often negative: unknown options are taken as arguments, so `-1.5` needs no `--`.
ACCEPTS_NEGATIVE_NUMBERS = {"ignore_unknown_options": True}


# ---- train ---------------------------------------------------------------------------------------------------


@app.command()
def train(
    ctx: typer.Context,
    recipe_name: Annotated[
        RecipeName | None,
        typer.Option(
            "--recipe",
            help="default (used when not given): 150 epochs, one-cycle schedule, EMA weights, binarized encoder "
            "input (about 140 nats); fast: 12 epochs, below 150 nats in about a fifth of plain's time; "
            "plain: the tutorial loop, 30 epochs at a constant rate. The flags below change single fields.",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs in all (with --resume: extends the run).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Images per step.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the initial weights, split and shuffles.")] = None,
    precision: Annotated[
        PrecisionName | None,
        typer.Option(help="auto picks bf16 only where it was measured faster (CPUs with AMX), fp32 elsewhere."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    data_dir: DataDirOption = None,
    dataset: DatasetOption = "mnist",
    limit: Annotated[int | None, typer.Option(help="Train on the first N training images only (quick runs).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help=f"Checkpoint to write (default: ./{DEFAULT_OUT}); its resume state goes beside it."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Continue training this checkpoint from its resume state, in place.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the checkpoint at --out if there is one.")] = False,
) -> None:
    """Train a VAE with a live progress display, saving the best checkpoint and a resumable state."""
    # The arguments are checked before torch is imported (seconds), so a mistake is reported at once.
    if resume is not None:
        changed = [
            flag
            for flag, value in (
                ("--recipe", recipe_name),
                ("--batch-size", batch_size),
                ("--lr", lr),
                ("--seed", seed),
                ("--precision", precision),
                ("--out", out),
                ("--force", force or None),
            )
            if value is not None
        ]
        if changed:
            raise VaeError(f"--resume continues the stored recipe in place; leave out {', '.join(changed)}")
    if limit is not None and limit < 1:
        raise VaeError(f"--limit must be at least 1, got {limit}")
    if resume is None and not force:
        refuse_to_replace(out or DEFAULT_OUT)
    from vae_core.devices import resolve_device
    from vae_core.training import StopFlag, recipe
    from vae_core.training import train as run_training

    # On resume train() keeps the stored recipe and takes the larger of its epochs and ours: 1 means "as stored".
    config = recipe(
        (recipe_name or RecipeName.default).value,
        epochs=1 if epochs is None and resume is not None else epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        precision=precision and precision.value,
    )
    torch_device = resolve_device(device)
    checkpoint = resume or out or DEFAULT_OUT
    train_set, test_set = load_split(dataset, "train", data_dir), load_split(dataset, "test", data_dir)
    if limit is not None and limit < len(train_set):
        train_set = train_set.subset(limit)
        console.print(f"training on the first {limit:,} of them")

    stop = StopFlag()
    with TrainView(console, live=console.is_terminal) as view, stop_on_signals(stop):
        result = run_training(
            train_set,
            test_set,
            config,
            torch_device,
            out=checkpoint,
            on_event=view,
            stop=stop,
            resume=resume is not None,
            provenance={"command": ctx.meta.get(COMMAND_LINE, "vae train")},
        )
    console.print(training_summary(result))
    # The commands go below the table, unwrapped, so they can be copied whole.
    if result.checkpoint is not None:
        explore_command = shlex.join(["vae", "explore", "--checkpoint", str(result.checkpoint)])
        console.print(f"explore with: {explore_command}", soft_wrap=True)
    if result.stopped == "interrupted":
        resume_command = ["vae", "train", "--resume", str(checkpoint)]
        for flag, value, default in (
            ("--data-dir", data_dir, None),
            ("--dataset", dataset, "mnist"),
            ("--limit", limit, None),
            ("--device", device, "auto"),
        ):
            if value != default:
                resume_command += [flag, str(value)]
        console.print(f"resume with: {shlex.join(resume_command)}", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED)


def refuse_to_replace(out: Path) -> None:
    """A new run overwrites ``out`` and its resume state after its first epoch: never a finished model by accident."""
    from vae_core.paths import resume_path_for

    resume_file = resume_path_for(out)
    if out.exists() or resume_file.exists():
        hint = f", or --resume {out} to continue its training" if resume_file.exists() else ""
        raise VaeError(f"{out if out.exists() else resume_file} already exists: add --force to replace it{hint}")


class TrainView:
    """Renders training events: live bars on a terminal, one plain line per epoch elsewhere."""

    def __init__(self, console: Console, live: bool) -> None:
        self.console = console
        self.progress = (
            Progress(
                TextColumn("{task.description:>11}"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TextColumn("<"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=console,
                refresh_per_second=4,
            )
            if live
            else None
        )
        self.overall: Any = None
        self.epoch: Any = None
        self.steps_per_epoch = 0

    def __enter__(self) -> TrainView:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: TrainEvent) -> None:
        from vae_core.training import EpochEnded, StepsDone, TrainStarted

        if isinstance(event, TrainStarted):
            self.started(event)
        elif isinstance(event, StepsDone) and self.progress is not None:
            done = event.epoch * event.steps_per_epoch + event.step
            status = f"BCE {event.running.bce:7.2f}  KL {event.running.kl:5.2f}  {event.samples_per_s:,.0f} img/s"
            self.progress.update(self.overall, completed=done)
            self.progress.update(self.epoch, completed=event.step, status=status)
        elif isinstance(event, EpochEnded):
            self.epoch_ended(event)

    def started(self, event: TrainStarted) -> None:
        self.console.print(
            f"training on {event.device} in {event.precision}: {event.train_size:,} training, "
            f"{event.val_size:,} validation, {event.test_size:,} test images; "
            f"recipe {describe_recipe(event.config.to_dict())}",
            soft_wrap=True,
        )
        if event.start_epoch >= event.config.epochs:
            self.console.print(f"all {event.config.epochs} epochs are done; pass a larger --epochs to train on")
        elif event.start_epoch or event.start_step:
            self.console.print(f"resuming at epoch {event.start_epoch + 1}, step {event.start_step:,}", soft_wrap=True)
        if self.progress is None:
            return
        steps = self.steps_per_epoch = event.steps_per_epoch
        self.overall = self.progress.add_task(
            "overall",
            total=steps * event.config.epochs,
            completed=event.start_epoch * steps + event.start_step,
            status="",
        )
        self.epoch = self.progress.add_task(
            self.epoch_title(event.start_epoch + 1, event.config.epochs),
            total=steps,
            completed=event.start_step,
            status="",
        )

    @staticmethod
    def epoch_title(epoch: int, epochs: int) -> str:
        return f"epoch {epoch}/{epochs}"

    def epoch_ended(self, event: EpochEnded) -> None:
        parts = [f"epoch {event.epoch:>{len(str(event.epochs))}}/{event.epochs}", f"train {format_loss(event.train)}"]
        parts += [f"{name} {loss.total:.2f}" for name, loss in (("val", event.val), ("test", event.test)) if loss]
        parts.append(f"{event.samples_per_s:,.0f} img/s")
        line = Text("  ".join(parts))
        if event.is_best:
            line.append("  best, saved", style="green")
        self.console.print(line, soft_wrap=True)
        if event.kl_collapsed:
            self.console.print(collapse_warning((event.val or event.train).kl), soft_wrap=True)
        if self.progress is None:
            return
        # Steps are reported a few times a second, so the last ones of an epoch may not have been shown yet.
        self.progress.update(self.overall, completed=event.epoch * self.steps_per_epoch)
        if event.epoch < event.epochs:
            self.progress.reset(self.epoch, description=self.epoch_title(event.epoch + 1, event.epochs), status="")
        else:
            self.progress.update(self.epoch, completed=self.steps_per_epoch)


def collapse_warning(kl: float) -> Text:
    return Text(
        f"posterior collapse: the KL is {kl:.2f} nats per image, so the latent code carries almost nothing "
        "about the digit; try a lower --lr or another --seed",
        style="yellow",
    )


def training_summary(result: TrainResult) -> Table:
    """The closing table: where the checkpoint went, its losses and the time it took."""
    titles = {
        "finished": "Training finished",
        "interrupted": "Training interrupted",
        "early-stopping": "Training stopped early (validation loss no longer improving)",
    }
    table = Table(title=titles[result.stopped], show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    last = result.history[-1] if result.history else None
    if result.checkpoint is not None and last is not None:
        table.add_row("checkpoint", f"{result.checkpoint} (best epoch {result.best_epoch} of {last.epoch})")
    else:
        table.add_row("checkpoint", "none yet: no epoch finished")
    if result.test is not None:
        table.add_row("test loss", f"{format_loss(result.test)} nats per image")
    if last is not None:
        table.add_row("time", f"{format_duration(last.elapsed_s)}, {last.samples_per_s:,.0f} images/s")
        if last.kl_collapsed:
            table.add_row("warning", collapse_warning((last.val or last.train).kl))
    if result.resume_file is not None:
        table.add_row("resume state", str(result.resume_file))
    return table


@contextmanager
def stop_on_signals(stop: StopFlag) -> Iterator[None]:
    """Ctrl-C or SIGTERM asks the training loop to stop and save; a second Ctrl-C stops at once."""

    def request_stop(signum: int, frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ---- pictures ------------------------------------------------------------------------------------------------


@app.command("export-grid")
def export_grid(
    out: Annotated[Path, output_argument("png")],
    n: Annotated[int, typer.Option("--n", help="Digits per side.")] = 15,
    extent: Annotated[float, typer.Option("--range", help="The grid spans [-range, range] on both axes.")] = 2.0,
    scale: ScaleOption = 1,
    checkpoint: CheckpointOption = None,
) -> None:
    """Write the n×n grid of digits decoded over the latent plane (y pointing up) as a PNG."""
    from vae_core.images import latent_grid

    require_suffix(out, ".png")
    model, _ = load_model(checkpoint)
    write_png(latent_grid(model, n, extent), out, scale, f"{n}×{n} digits over [-{extent:g}, {extent:g}]²")


@app.command(context_settings=ACCEPTS_NEGATIVE_NUMBERS)
def generate(
    x: Annotated[float, coordinate("X")],
    y: Annotated[float, coordinate("Y")],
    out: Annotated[Path, output_argument("png")],
    scale: ScaleOption = 1,
    checkpoint: CheckpointOption = None,
) -> None:
    """Write the digit decoded at one latent point (X, Y) as a PNG."""
    from vae_core.images import decode_points

    require_suffix(out, ".png")
    model, _ = load_model(checkpoint)
    write_png(decode_points(model, [[x, y]])[0], out, scale, f"the digit at ({x:g}, {y:g})")


@app.command()
def reconstruct(
    out: Annotated[Path, output_argument("png")],
    n: Annotated[int, typer.Option("--n", help="How many test images.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed that picks the test images.")] = 0,
    scale: ScaleOption = 1,
    checkpoint: CheckpointOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = "mnist",
) -> None:
    """Write test images (top row) above their reconstructions (bottom row) as a PNG."""
    import torch

    from vae_core.images import reconstruction_rows

    require_suffix(out, ".png")
    if n < 1:
        raise VaeError(f"--n must be at least 1, got {n}")
    model, _ = load_model(checkpoint)
    test_set = load_split(dataset, "test", data_dir)
    chosen = torch.randperm(len(test_set), generator=torch.Generator().manual_seed(seed))[:n]
    write_png(reconstruction_rows(model, test_set.images[chosen]), out, scale, f"{len(chosen)} test digits")


@app.command(context_settings=ACCEPTS_NEGATIVE_NUMBERS)
def interpolate(
    x1: Annotated[float, coordinate("X1")],
    y1: Annotated[float, coordinate("Y1")],
    x2: Annotated[float, coordinate("X2")],
    y2: Annotated[float, coordinate("Y2")],
    out: Annotated[Path, output_argument("png|gif")],
    steps: Annotated[int, typer.Option(help="Digits along the segment, both ends included.")] = 10,
    scale: ScaleOption = 1,
    checkpoint: CheckpointOption = None,
) -> None:
    """Decode the segment from (X1, Y1) to (X2, Y2): a strip of digits (PNG) or an animation (GIF)."""
    from vae_core.images import interpolation_frames, save_gif, tile

    require_suffix(out, ".png", ".gif")
    model, _ = load_model(checkpoint)
    frames = interpolation_frames(model, (x1, y1), (x2, y2), steps)
    what = f"{steps} digits from ({x1:g}, {y1:g}) to ({x2:g}, {y2:g})"
    if out.suffix.lower() == ".gif":
        save_gif(frames, out, scale)
        report_written(out, frames[0], scale, f"{what}, animated")
    else:
        write_png(tile(frames, len(frames)), out, scale, what)


@app.command("export-map")
def export_map(
    out: Annotated[Path, output_argument("png")],
    size: Annotated[int, typer.Option(help="Height of the plot in pixels (the legend adds to its width).")] = 640,
    checkpoint: CheckpointOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = "mnist",
) -> None:
    """Write the test set's latent means as a scatter coloured by digit, with axes and a legend, as a PNG."""
    from vae_core.images import encode_means, latent_map

    require_suffix(out, ".png")
    if size < 200:
        raise VaeError(f"--size must be at least 200 pixels, got {size}")
    model, _ = load_model(checkpoint)
    test_set = load_split(dataset, "test", data_dir)
    picture = latent_map(encode_means(model, test_set.images), test_set.labels.numpy(), size=size)
    write_png(picture, out, 1, f"{len(test_set):,} test digits")


def require_suffix(out: Path, *suffixes: str) -> None:
    if out.suffix.lower() not in suffixes:
        raise VaeError(f"{out}: the output name must end in {' or '.join(suffixes)}")


def write_png(image: np.ndarray, out: Path, scale: int, what: str) -> None:
    from vae_core.images import save_png

    save_png(image, out, scale)
    report_written(out, image, scale, what)


def report_written(out: Path, image: np.ndarray, scale: int, what: str) -> None:
    console.print(f"wrote {out} ({image.shape[1] * scale}×{image.shape[0] * scale}, {what})", soft_wrap=True)


# ---- checkpoints ---------------------------------------------------------------------------------------------


@app.command()
def evaluate(
    checkpoint: CheckpointOption = None,
    k: Annotated[int, typer.Option("--k", help="Importance samples per image for the likelihood estimate.")] = 1000,
    iw_images: Annotated[
        int | None,
        typer.Option(
            help=f"Test images for the likelihood estimate (default: all on a GPU, {CPU_IW_IMAGES:,} on a CPU)."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    seed: SeedOption = 0,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = "mnist",
) -> None:
    """Test-set loss, an importance-weighted log-likelihood estimate, and 5-NN accuracy of the latent means."""
    from vae_core.devices import resolve_device
    from vae_core.evaluation import importance_weighted_nll, knn_accuracy
    from vae_core.images import encode_means
    from vae_core.training import evaluate as test_loss

    if iw_images is not None and iw_images < 1:
        raise VaeError(f"--iw-images must be at least 1, got {iw_images}")
    torch_device = resolve_device(device)
    path = checkpoint_path(checkpoint)
    model, _ = load_model(path, torch_device)
    train_set, test_set = load_split(dataset, "train", data_dir), load_split(dataset, "test", data_dir)
    with console.status("test loss…"):
        loss = test_loss(model, test_set.images, seed=seed)
    iw_count = min(iw_images or (CPU_IW_IMAGES if torch_device.type == "cpu" else len(test_set)), len(test_set))
    with Progress(
        TextColumn("log-likelihood, k={task.fields[k]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("", total=iw_count, k=k)
        nll = importance_weighted_nll(
            model,
            test_set.images[:iw_count],
            k,
            seed,
            progress=lambda done, total: progress.update(task, completed=done),
        )
    with console.status("5-NN accuracy…"):
        accuracy = knn_accuracy(
            encode_means(model, train_set.images),
            train_set.labels.numpy(),
            encode_means(model, test_set.images),
            test_set.labels.numpy(),
            neighbours=5,
        )
    table = Table(title=f"{path} on the {test_set.split} set", title_justify="left", caption_justify="left")
    table.add_column("per test image")
    table.add_column("value", justify="right")
    table.add_row("reconstruction (BCE)", f"{loss.bce:.2f} nats")
    table.add_row("KL to the prior", f"{loss.kl:.2f} nats")
    table.add_row("negative ELBO", f"{loss.total:.2f} nats")
    table.add_row(f"−log p(x), importance-weighted, k={k:,}", f"{nll:.2f} nats")
    table.add_row("5-NN accuracy of the latent means", f"{accuracy:.1%}")
    table.caption = (
        f"−log p(x) over the first {iw_count:,} test images (an upper bound that tightens as k grows); "
        f"5-NN fit on {len(train_set):,} training images"
    )
    console.print(table)


@app.command()
def info(
    checkpoint: Annotated[Path | None, typer.Argument(help="Checkpoint file (default: the bundled one).")] = None,
) -> None:
    """Show a checkpoint's model config and provenance."""
    from vae_core.checkpoints import read_checkpoint_info
    from vae_core.paths import atlas_path_for, resume_path_for

    path = checkpoint_path(checkpoint)
    details = read_checkpoint_info(path)
    table = Table(title=str(path), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in checkpoint_rows(details):
        table.add_row(label, value)
    for label, companion in (("resume state", resume_path_for(path)), ("atlas", atlas_path_for(path))):
        table.add_row(label, str(companion) if companion.is_file() else "none")
    console.print(table)


PROVENANCE_LABELS = {
    "dataset": "dataset",
    "dataset_source": "data from",
    "train_samples": "training images",
    "val_samples": "validation images",
    "epochs": "epochs trained",
    "best_epoch": "best epoch",
    "recipe": "recipe",
    "seed": "seed",
    "precision": "precision",
    "device": "trained on",
    "test_loss": "test loss",
    "val_loss": "best validation loss",
    "train_seconds": "training time",
    "created": "created",
    "command": "command",
    "versions": "versions",
}


def checkpoint_rows(details: CheckpointInfo) -> Iterator[tuple[str, str]]:
    """(label, value) rows for a checkpoint's model and provenance, known keys first, in a readable form."""
    yield "model", f"{details.model} (format version {details.format_version})"
    yield "network", ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in details.config.to_dict().items())
    provenance = details.provenance
    keys = [key for key in PROVENANCE_LABELS if key in provenance] + sorted(
        provenance.keys() - PROVENANCE_LABELS.keys()
    )
    for key in keys:
        value = provenance[key]
        if value is None:
            continue
        if key == "recipe":
            text = describe_recipe(value)
        elif key in ("test_loss", "val_loss"):
            text = format_loss(value) if isinstance(value, dict) else f"{value:.2f}"
            text += " nats per image"
        elif key == "train_seconds":
            text = format_duration(value)
        elif isinstance(value, dict):
            text = ", ".join(f"{name} {item}" for name, item in value.items())
        elif isinstance(value, list):
            text = "; ".join(map(str, value))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            text = f"{value:,}"
        else:
            text = str(value)
        yield PROVENANCE_LABELS.get(key, key.replace("_", " ")), text


@app.command()
def atlas(
    out: Annotated[
        Path | None, typer.Argument(help="Atlas file to write (default: NAME.atlas.safetensors beside the checkpoint).")
    ] = None,
    count: Annotated[int, typer.Option(help="Test digits to include, drawn at random.")] = 3000,
    seed: SeedOption = 0,
    checkpoint: CheckpointOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = "mnist",
) -> None:
    """Write the atlas the explorer uses: test digits with their latent means, so it runs without the dataset."""
    from vae_core.atlas import build_atlas, save_atlas
    from vae_core.paths import atlas_path_for

    if count < 1:
        raise VaeError(f"--count must be at least 1, got {count}")
    path = checkpoint_path(checkpoint)
    target = out or atlas_path_for(path)
    model, _ = load_model(path)
    built = build_atlas(model, load_split(dataset, "test", data_dir), count, seed)
    save_atlas(target, built, {"checkpoint": path.name})
    console.print(f"wrote {target} ({len(built):,} digits from {built.source})", soft_wrap=True)


@app.command()
def explore(
    checkpoint: CheckpointOption = None,
    data_dir: DataDirOption = None,
    colors: Annotated[ColorMode | None, typer.Option(help="Colour depth (default: what the terminal reports).")] = None,
) -> None:
    """Walk through the latent space in the terminal: the map, the decoded digit, its nearest real neighbours."""
    from vae_tui.app import run_explorer

    run_explorer(checkpoint, data_dir, colors and colors.value)


# ---- helpers -------------------------------------------------------------------------------------------------


def checkpoint_path(checkpoint: Path | None) -> Path:
    from vae_core.paths import bundled_checkpoint_path

    return checkpoint if checkpoint is not None else bundled_checkpoint_path()


def load_model(checkpoint: Path | None, device: Any = "cpu") -> tuple[VAE, CheckpointInfo]:
    from vae_core.checkpoints import load_checkpoint

    return load_checkpoint(checkpoint_path(checkpoint), device)


def load_split(dataset: str, split: str, data_dir: Path | None) -> ImageSet:
    """One split of a dataset, showing any download, then a line saying what was loaded."""
    from vae_core.plugins import DATASETS

    source = DATASETS.get(dataset)
    with DownloadView(console) as view:
        images = source.load(split, data_dir, progress=view)
    console.print(images.describe(), soft_wrap=True)
    return images


class DownloadView:
    """Downloads as Rich bars on a terminal (started at the first byte) and one line per file elsewhere."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> DownloadView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, file_name: str, done: int, total: int) -> None:
        if not self.console.is_terminal:
            if file_name not in self.tasks:
                self.tasks[file_name] = None
                self.console.print(f"downloading {file_name}")
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("downloading {task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        if file_name not in self.tasks:
            self.tasks[file_name] = self.progress.add_task(file_name, total=total or None)
        self.progress.update(self.tasks[file_name], completed=done)


def describe_recipe(config: dict[str, Any]) -> str:
    """A TrainConfig as a dict (live, or stored in a checkpoint) → 'fast: 12 epochs, batch 256, ...'."""
    parts = [
        f"{config['epochs']} epoch{'' if config['epochs'] == 1 else 's'}",
        f"batch {config['batch_size']}",
        f"lr {config['lr']:g} {config['schedule']}",
    ]
    if config["schedule"] == "onecycle" and "warmup_fraction" in config:
        parts.append(f"warm-up {config['warmup_fraction']:.0%}")
    if config.get("adam_beta2", 0.999) != 0.999:
        parts.append(f"Adam β₂ {config['adam_beta2']:g}")
    if config.get("ema_decay"):
        parts.append(f"EMA {config['ema_decay']:g}")
    if config.get("binarize_input"):
        parts.append("binarized encoder input")
    if config.get("init_output_bias"):
        parts.append("output bias at the mean image")
    parts.append(f"seed {config['seed']}")
    return f"{config['recipe']}: {', '.join(parts)}"


def format_loss(loss: LossSummary | dict[str, float]) -> str:
    bce, kl = (loss["bce"], loss["kl"]) if isinstance(loss, dict) else (loss.bce, loss.kl)
    return f"{bce + kl:.2f} (BCE {bce:.2f} + KL {kl:.2f})"


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
