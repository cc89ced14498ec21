"""The `vae` command: parse arguments, call vae_core, render with Rich. No model logic lives here.

torch and the vae_core modules that need it are imported inside the commands, so `vae --help` answers at once.
"""

from __future__ import annotations

import shlex
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

try:  # typer vendors click from 0.2x on; older releases use the click package
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from cli_support import (
    COMMAND_LINE,
    EXIT_INTERRUPTED,
    atlas_output,
    check_picture_output,
    console,
    load_model,
    load_split,
    refuse_to_replace,
    report_written,
    run_training,
    test_split_or_atlas,
    write_map_animation,
    write_png,
)
from cli_views import (
    EvaluationView,
    ascii_fallback,
    checkpoint_table,
    evaluation_table,
    training_summary,
)
from vae_core.errors import VaeError, unexpected_error_line
from vae_core.files import writer_lock
from vae_core.picture_defaults import INTERPOLATION_STEPS, VISIBLE_PIXELS, visible_scale
from vae_core.recipes import DEFAULT_RECIPE, PRECISIONS, RECIPES, check_seed, recipe, recipe_note

if TYPE_CHECKING:
    pass

DEFAULT_OUT = Path("vae-mnist.safetensors")
EXIT_USAGE = 2
CPU_IW_IMAGES = 1000
"""Test images the importance-weighted estimate uses by default on a CPU, where all 10,000 take minutes."""


class VaeGroup(TyperGroup):
    """The `vae` group: remembers the command line as typed, and turns a user's error into one line on stderr."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        ctx.meta[COMMAND_LINE] = shlex.join(["vae", *args])
        return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context) -> Any:
        ascii_fallback()
        try:
            return super().invoke(ctx)
        except VaeError as error:
            fail(str(error))
        except OSError as error:
            fail(f"{error.filename}: {error.strerror}" if error.filename else str(error))
        except UsageError as error:
            if isinstance(error, NoArgsIsHelpError):
                raise
            command = error.ctx.command_path if error.ctx else "vae"
            fail(f"{error.format_message()} (see {command} --help)", EXIT_USAGE)
        except (typer.Exit, ClickException, KeyboardInterrupt):
            raise
        except Exception as error:
            fail(unexpected_error_line(error))


def fail(message: str, status: int = 1) -> NoReturn:
    """Print ``error: message`` as a single line on stderr and exit with ``status``."""
    typer.echo(f"{typer.style('error:', fg='red', bold=True)} {' '.join(message.split())}", err=True)
    raise typer.Exit(status)


app = typer.Typer(
    name="vae",
    cls=VaeGroup,
    help="Train a 2-D latent VAE on MNIST, export pictures of its latent space, and explore it in the terminal.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    # Plain help: Typer's Rich help formatter costs ~100 ms of imports, a third of the `vae --help` budget.
    rich_markup_mode=None,
)


RecipeName = Enum("RecipeName", {name: name for name in RECIPES}, type=str)
"""The names of vae_core.recipes.RECIPES, as Typer's choices."""
PrecisionName = Enum("PrecisionName", {name: name for name in PRECISIONS}, type=str)
RECIPE_HELP = "; ".join(
    f"{name}{' (used when not given)' if name == DEFAULT_RECIPE else ''}: {recipe_note(name)}" for name in RECIPES
)


class GraphicsMode(str, Enum):
    auto = "auto"
    kitty = "kitty"
    sixel = "sixel"
    cells = "cells"


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
ScaleOption = Annotated[
    int | None,
    typer.Option(
        help="Enlarge the picture this many times, sharp pixels "
        f"(default: enough for the shorter side to reach {VISIBLE_PIXELS} pixels).",
        show_default=False,
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")]
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
            help=f"{RECIPE_HELP}. The flags below change single fields.",
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
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not keep the per-epoch history (losses and map) beside it.")
    ] = False,
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
    if seed is not None:
        check_seed(seed)
    checkpoint = resume or out or DEFAULT_OUT
    if resume is None:
        refuse_to_replace(checkpoint, force)
    # A resumed run keeps its stored recipe (--epochs may extend it); a new one takes a named recipe and the flags.
    config = None
    if resume is None:
        config = recipe(
            recipe_name.value if recipe_name else DEFAULT_RECIPE,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            precision=precision and precision.value,
        )
    from vae_core.devices import resolve_device

    torch_device = resolve_device(device)
    resume_command = ["vae", "train", "--resume", str(checkpoint)]
    for flag, value, default in (
        ("--data-dir", data_dir, None),
        ("--dataset", dataset, "mnist"),
        ("--limit", limit, None),
        ("--device", device, "auto"),
    ):
        if value != default:
            resume_command += [flag, str(value)]
    with writer_lock(checkpoint, "training"):
        result = run_training(
            ctx, config, checkpoint, torch_device, dataset, data_dir, limit, epochs, resume_command, no_history
        )
    console.print(training_summary(result))
    # The commands go below the table, unwrapped, so they can be copied whole.
    if result.checkpoint is not None:
        explore_command = shlex.join(["vae", "explore", "--checkpoint", str(result.checkpoint)])
        console.print(f"explore with: {explore_command}", soft_wrap=True)
    if result.stopped == "interrupted":
        console.print(f"resume with: {shlex.join(resume_command)}", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED)


# ---- pictures ------------------------------------------------------------------------------------------------


@app.command("export-grid")
def export_grid(
    out: Annotated[Path, output_argument("png")],
    n: Annotated[int, typer.Option("--n", help="Digits per side.")] = 15,
    extent: Annotated[float, typer.Option("--range", help="The grid spans [-range, range] on both axes.")] = 2.0,
    scale: ScaleOption = None,
    checkpoint: CheckpointOption = None,
    force: ForceOption = False,
) -> None:
    """Write the n×n grid of digits decoded over the latent plane (y pointing up) as a PNG."""
    from vae_core.images import latent_grid

    check_picture_output(out, force, ".png")
    model, _ = load_model(checkpoint, task="vae export-grid")
    write_png(latent_grid(model, n, extent), out, scale, f"{n}×{n} digits over [-{extent:g}, {extent:g}]²")


@app.command(context_settings=ACCEPTS_NEGATIVE_NUMBERS)
def generate(
    x: Annotated[float, coordinate("X")],
    y: Annotated[float, coordinate("Y")],
    out: Annotated[Path, output_argument("png")],
    scale: ScaleOption = None,
    checkpoint: CheckpointOption = None,
    force: ForceOption = False,
) -> None:
    """Write the digit decoded at one latent point (X, Y) as a PNG."""
    from vae_core.images import decode_points

    check_picture_output(out, force, ".png")
    model, _ = load_model(checkpoint, task="vae generate")
    write_png(decode_points(model, [[x, y]])[0], out, scale, f"the digit at ({x:g}, {y:g})")


@app.command()
def reconstruct(
    out: Annotated[Path, output_argument("png")],
    n: Annotated[int, typer.Option("--n", help="How many test images.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed that picks the test images.")] = 0,
    scale: ScaleOption = None,
    checkpoint: CheckpointOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = "mnist",
    force: ForceOption = False,
) -> None:
    """Write test images (top row) above their reconstructions (bottom row) as a PNG."""
    from vae_core.data import seeded_sample
    from vae_core.images import reconstruction_rows

    check_picture_output(out, force, ".png")
    if n < 1:
        raise VaeError(f"--n must be at least 1, got {n}")
    check_seed(seed)
    model, _ = load_model(checkpoint, task="vae reconstruct", plane=False)
    test_set = test_split_or_atlas(checkpoint, dataset, data_dir)
    chosen = seeded_sample(len(test_set), n, seed)
    write_png(reconstruction_rows(model, test_set.images[chosen]), out, scale, f"{len(chosen)} test digits")


@app.command(context_settings=ACCEPTS_NEGATIVE_NUMBERS)
def interpolate(
    x1: Annotated[float, coordinate("X1")],
    y1: Annotated[float, coordinate("Y1")],
    x2: Annotated[float, coordinate("X2")],
    y2: Annotated[float, coordinate("Y2")],
    out: Annotated[Path, output_argument("png|gif")],
    steps: Annotated[int, typer.Option(help="Digits along the segment, both ends included.")] = INTERPOLATION_STEPS,
    scale: ScaleOption = None,
    checkpoint: CheckpointOption = None,
    force: ForceOption = False,
) -> None:
    """Decode the segment from (X1, Y1) to (X2, Y2): a strip of digits (PNG) or an animation (GIF)."""
    from vae_core.images import interpolation_frames, save_gif, tile

    check_picture_output(out, force, ".png", ".gif")
    model, _ = load_model(checkpoint, task="vae interpolate")
    frames = interpolation_frames(model, (x1, y1), (x2, y2), steps)
    what = f"{steps} digits from ({x1:g}, {y1:g}) to ({x2:g}, {y2:g})"
    if out.suffix.lower() == ".gif":
        scale = visible_scale(frames[0].shape, scale)
        save_gif(frames, out, scale)
        report_written(out, frames[0], scale, f"{what}, animated")
    else:
        write_png(tile(frames, len(frames)), out, scale, what)


@app.command("export-map")
def export_map(
    out: Annotated[Path, output_argument("png|gif")],
    size: Annotated[int, typer.Option(help="Height of the plot in pixels (the legend adds to its width).")] = 640,
    animate: Annotated[
        bool,
        typer.Option(
            "--animate", help="Write a GIF of the map at every epoch, from the training history beside the checkpoint."
        ),
    ] = False,
    frame_ms: Annotated[int, typer.Option(help="With --animate: milliseconds per epoch.")] = 250,
    extent: Annotated[
        float | None,
        typer.Option("--range", help="The map spans [-range, range] on both axes (default: fitted to the digits)."),
    ] = None,
    checkpoint: CheckpointOption = None,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = "mnist",
    force: ForceOption = False,
) -> None:
    """Write the test set's latent means as a scatter coloured by digit, with axes and a legend, as a PNG;
    with --animate, the map of every training epoch as a GIF."""
    from vae_core.atlas import fitted_extent
    from vae_core.images import MAX_LATENT_COORDINATE, encode_means, latent_map

    check_picture_output(out, force, ".gif" if animate else ".png")
    if size < 200:
        raise VaeError(f"--size must be at least 200 pixels, got {size}")
    if animate:
        write_map_animation(checkpoint, out, size, frame_ms)
        return
    if extent is not None and not 0 < extent <= MAX_LATENT_COORDINATE:
        raise VaeError(f"--range must be a positive number up to {MAX_LATENT_COORDINATE:g}, got {extent:g}")
    model, _ = load_model(checkpoint, task="vae export-map")
    test_set = test_split_or_atlas(checkpoint, dataset, data_dir)
    means = encode_means(model, test_set.images)
    extent = extent or fitted_extent(means)
    outside = int((abs(means) > extent).any(axis=1).sum())
    picture = latent_map(means, test_set.labels.numpy(), extent=extent, size=size)
    note = f"; {outside:,} lie outside it and are not drawn (widen --range)" if outside else ""
    write_png(picture, out, 1, f"{len(test_set):,} test digits over [-{extent:g}, {extent:g}]²{note}")


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
    from vae_core.checkpoints import checkpoint_or_bundled
    from vae_core.devices import resolve_device
    from vae_core.evaluation import evaluate_model

    if iw_images is not None and iw_images < 1:
        raise VaeError(f"--iw-images must be at least 1, got {iw_images}")
    check_seed(seed)
    torch_device = resolve_device(device)
    path = checkpoint_or_bundled(checkpoint)
    model, _ = load_model(path, torch_device, task="vae evaluate", plane=False)
    train_set, test_set = load_split(dataset, "train", data_dir), load_split(dataset, "test", data_dir)
    with EvaluationView(console, samples=k) as view:
        report = evaluate_model(
            model,
            train_set,
            test_set,
            samples=k,
            nll_images=iw_images or (CPU_IW_IMAGES if torch_device.type == "cpu" else None),
            seed=seed,
            progress=view,
        )
    console.print(evaluation_table(path, test_set.split, report))


@app.command()
def info(
    checkpoint: Annotated[Path | None, typer.Argument(help="Checkpoint file (default: the bundled one).")] = None,
) -> None:
    """Show a checkpoint's model config and provenance."""
    from vae_core.checkpoints import checkpoint_or_bundled, read_checkpoint_info
    from vae_core.paths import atlas_path_for, history_path_for, resume_path_for

    path = checkpoint_or_bundled(checkpoint)
    companions = {
        "resume state": resume_path_for(path),
        "atlas": atlas_path_for(path),
        "history": history_path_for(path),
    }
    console.print(checkpoint_table(path, read_checkpoint_info(path), companions))


@app.command()
def atlas(
    checkpoint: CheckpointOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Atlas file to write (default: NAME.atlas.safetensors beside --checkpoint; required for the bundled "
            "checkpoint, which ships its own).",
            show_default=False,
        ),
    ] = None,
    count: Annotated[int, typer.Option(help="Test digits to include, drawn at random.")] = 3000,
    seed: SeedOption = 0,
    data_dir: DataDirOption = None,
    dataset: DatasetOption = "mnist",
    force: Annotated[bool, typer.Option("--force", help="Replace the atlas at --out if there is one.")] = False,
) -> None:
    """Write the atlas the explorer uses: test digits with their latent means, so it runs without the dataset."""
    from vae_core.atlas import build_atlas, save_atlas
    from vae_core.checkpoints import checkpoint_or_bundled

    if count < 1:
        raise VaeError(f"--count must be at least 1, got {count}")
    check_seed(seed)
    target = atlas_output(checkpoint, out, force)
    path = checkpoint_or_bundled(checkpoint)
    model, _ = load_model(path, task="vae atlas")
    built = build_atlas(model, load_split(dataset, "test", data_dir), count, seed)
    save_atlas(target, built, {"checkpoint": path.name})
    console.print(f"wrote {target} ({len(built):,} digits from {built.source})", soft_wrap=True)


@app.command()
def explore(
    checkpoint: CheckpointOption = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder with the test set's IDX files (default: the download cache where it holds them)."),
    ] = None,
    colors: Annotated[ColorMode | None, typer.Option(help="Colour depth (default: what the terminal reports).")] = None,
    graphics: Annotated[
        GraphicsMode,
        typer.Option(help="Draw digits in real pixels (kitty, sixel) or in cells; auto asks the terminal."),
    ] = GraphicsMode.auto,
    web: Annotated[bool, typer.Option("--web", help="Serve the explorer to browsers (needs the web extra).")] = False,
    host: Annotated[str, typer.Option(help="With --web: the address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --web: the port to listen on.")] = 8000,
    follow: Annotated[
        Path | None,
        typer.Option(
            "--follow",
            metavar="RUN.safetensors",
            help="Follow a run that `vae train` is writing: reload each new checkpoint and epoch of its history.",
        ),
    ] = None,
) -> None:
    """Walk through the latent space in the terminal: the map, the decoded digit, its nearest real neighbours."""
    if web:
        from vae_tui.web import serve

        serve(checkpoint, data_dir, host, port)
        return
    from vae_tui.app import run_explorer

    if follow is not None and checkpoint is not None and Path(checkpoint) != Path(follow):
        raise VaeError("--follow names the checkpoint to explore: give it alone, or the same path as --checkpoint")
    run_explorer(follow or checkpoint, data_dir, colors and colors.value, graphics.value, follow=follow is not None)
