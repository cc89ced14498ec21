"""The `vae` command through Typer's CliRunner: each command, each error a user can cause, and a run end to end."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console
from typer.testing import Result

import cli
import cli_support
import cli_views
from tests.conftest import ok, vae
from vae_core.checkpoints import load_checkpoint, read_checkpoint_info
from vae_core.data import MNIST
from vae_core.evaluation import EvaluationReport, LossSummary, importance_weighted_nll, knn_accuracy, negative_elbo
from vae_core.events import EpochEnded, StepsDone, StopFlag, TrainStarted
from vae_core.images import encode_means
from vae_core.paths import resume_path_for
from vae_core.recipes import RECIPES, TrainConfig


def fails(*args: object, exit_code: int = 1) -> str:
    """Run a command that must fail; return its one-line error message (without the `error: ` prefix)."""
    result = vae(*args)
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0].removeprefix("error: ")


def picture(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


# ---- the group -------------------------------------------------------------------------------------------------


HELP_PROBE = """
import sys, cli
try:
    cli.app({args!r}, prog_name="vae")
except SystemExit:
    print("torch imported:", "torch" in sys.modules)
"""


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["evaluate", "--help"]])
def test_help_does_not_import_torch(args: list[str]) -> None:
    code = HELP_PROBE.format(args=args)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(cli.__file__).parent)
    assert "Usage: vae" in run.stdout
    assert run.stdout.strip().endswith("torch imported: False"), run.stdout + run.stderr


def test_help_lists_every_command() -> None:
    text = ok("--help").stdout
    for command in ("train", "export-grid", "generate", "reconstruct", "interpolate", "export-map", "evaluate"):
        assert command in text
    for command in ("info", "atlas", "explore"):
        assert command in text


@pytest.mark.parametrize("command", [c.name or c.callback.__name__ for c in cli.app.registered_commands])
def test_every_command_has_help(command: str) -> None:
    assert "Usage: vae" in ok(command, "--help").output


def test_recipe_choices_are_vae_cores_recipes() -> None:
    assert {name.value for name in cli.RecipeName} == set(RECIPES)


def test_an_os_error_is_one_line(random_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError(13, "Permission denied", "grid.png")

    monkeypatch.setattr("vae_core.images.save_png", refuse)
    assert fails("export-grid", tmp_path / "grid.png", "-c", random_checkpoint) == "grid.png: Permission denied"


# ---- train -----------------------------------------------------------------------------------------------------


def test_train_writes_a_checkpoint_and_says_how_to_explore_it(idx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.safetensors"
    result = ok("train", "--recipe", "fast", "--epochs", "1", "--data-dir", idx_dir, "--out", out)
    assert "epoch 1/1  train" in result.stdout
    assert "Training finished" in result.stdout
    assert f"explore with: vae explore --checkpoint {out}\n" in result.stdout
    details = read_checkpoint_info(out)
    assert details.provenance["epochs"] == 1
    assert details.provenance["recipe"]["recipe"] == "fast"
    assert details.provenance["command"] == f"vae train --recipe fast --epochs 1 --data-dir {idx_dir} --out {out}"


def test_train_refuses_to_replace_an_existing_checkpoint_without_force(idx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.safetensors"
    ok("train", "--recipe", "fast", "--epochs", 1, "--seed", 1, "--data-dir", idx_dir, "--out", out)
    first = out.read_bytes()
    message = fails("train", "--recipe", "fast", "--epochs", 1, "--seed", 2, "--data-dir", idx_dir, "--out", out)
    assert message == f"{out} already exists: add --force to replace it, or --resume {out} to continue its training"
    assert out.read_bytes() == first
    out.unlink()  # as after a Ctrl-C in the first epoch: only the resume state exists
    message = fails("train", "--recipe", "fast", "--epochs", 1, "--seed", 2, "--data-dir", idx_dir, "--out", out)
    assert message.startswith(f"{resume_path_for(out)} already exists: add --force to replace it, or --resume")
    resume_path_for(out).unlink()
    out.write_bytes(b"not a checkpoint")
    message = fails("train", "--recipe", "fast", "--epochs", 1, "--seed", 2, "--data-dir", idx_dir, "--out", out)
    assert message == f"{out} already exists: add --force to replace it"
    ok("train", "--recipe", "fast", "--epochs", 1, "--seed", 2, "--data-dir", idx_dir, "--out", out, "--force")
    assert read_checkpoint_info(out).provenance["seed"] == 2


def test_train_flags_override_the_recipe(idx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.safetensors"
    ok("train", "--recipe", "plain", "--epochs", 1, "--batch-size", 64, "--lr", 0.002, "--seed", 3,
       "--precision", "fp32", "--limit", 150, "--data-dir", idx_dir, "--out", out)  # fmt: skip
    provenance = read_checkpoint_info(out).provenance
    assert (
        provenance["recipe"] | {"epochs": 1}
        == TrainConfig(recipe="plain", epochs=1, batch_size=64, lr=0.002, seed=3, precision="fp32").to_dict()
    )
    assert provenance["train_samples"] + provenance["val_samples"] == 150


def test_train_resume_continues_and_keeps_the_recipe(idx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.safetensors"
    ok("train", "--recipe", "fast", "--epochs", 1, "--data-dir", idx_dir, "--out", out)
    result = ok("train", "--resume", out, "--epochs", 2, "--data-dir", idx_dir)
    assert "resuming at epoch 2" in result.stdout
    assert "epoch 2/2" in result.stdout
    provenance = read_checkpoint_info(out).provenance
    assert (provenance["epochs"], provenance["recipe"]["recipe"]) == (2, "fast")
    # Without --epochs a resumed run keeps its stored length: nothing left to do.
    result = ok("train", "--resume", out, "--data-dir", idx_dir)
    assert "all 2 epochs are done" in result.stdout and "epoch 3/" not in result.stdout


class StopRequestedBySignal:
    """Stands in for StopFlag: asks once, mid-run, for SIGTERM, as `kill` would; the CLI's handler sets the flag."""

    def __new__(cls) -> object:
        flag, checks = StopFlag(), []
        real_is_set = flag.is_set

        def is_set() -> bool:
            checks.append(1)
            if len(checks) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return real_is_set()

        flag.is_set = is_set  # type: ignore[method-assign]
        return flag


def test_a_stopped_run_saves_and_prints_the_resume_command(
    idx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "model.safetensors"
    monkeypatch.setattr("vae_core.events.StopFlag", StopRequestedBySignal)
    before = signal.getsignal(signal.SIGTERM)
    result = vae("train", "--recipe", "plain", "--epochs", 2, "--batch-size", 16, "--data-dir", idx_dir, "--out", out)
    assert result.exit_code == cli.EXIT_INTERRUPTED, result.output
    assert signal.getsignal(signal.SIGTERM) is before
    assert "Training interrupted" in result.stdout
    assert f"resume with: vae train --resume {out} --data-dir {idx_dir}\n" in result.stdout
    assert resume_path_for(out).is_file()
    monkeypatch.undo()
    assert "epoch 2/2" in ok("train", "--resume", out, "--data-dir", idx_dir).stdout


def test_a_diverging_run_stops_with_a_clear_message(idx_dir: Path, tmp_path: Path) -> None:
    message = fails("train", "--recipe", "plain", "--epochs", 2, "--lr", 1e6, "--data-dir", idx_dir,
                    "--out", tmp_path / "m.safetensors")  # fmt: skip
    assert "NaN or infinite" in message


def test_the_live_display_draws_bars_on_a_terminal(
    idx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Console(force_terminal=True, width=120)
    monkeypatch.setattr(cli, "console", terminal)
    monkeypatch.setattr(cli_support, "console", terminal)  # the live display is drawn there
    result = ok("train", "--recipe", "fast", "--epochs", 1, "--data-dir", idx_dir, "--out", tmp_path / "m.safetensors")
    assert "overall" in result.stdout
    assert "epoch 1/1" in result.stdout
    assert "\x1b[" in result.stdout


def training_events(kl: float) -> list[object]:
    loss = LossSummary(bce=150.0, kl=kl)
    return [
        TrainStarted(TrainConfig(recipe="fast", epochs=2), "cpu", "fp32", 90, 10, 100, 3, 0, 0),
        StepsDone(0, 2, 3, loss, 1234.0, 1e-3),
        EpochEnded(1, 2, loss, loss, loss, True, 1000.0, 2.0),
        EpochEnded(2, 2, loss, loss, loss, False, 1000.0, 4.0),
    ]


@pytest.mark.parametrize("live", [False, True])
def test_train_view_flags_posterior_collapse(live: bool) -> None:
    console = Console(file=io.StringIO(), force_terminal=live, width=150, highlight=False)
    with cli_views.TrainView(console, live=live) as view:
        for event in training_events(kl=0.1):
            view(event)
    text = console.file.getvalue()
    assert "epoch 1/2  train 150.10 (BCE 150.00 + KL 0.10)  val 150.10  test 150.10" in text
    assert text.count("posterior collapse: the KL is 0.10 nats") == 2


def test_train_view_prints_plain_lines_without_a_terminal() -> None:
    console = Console(file=io.StringIO(), width=80, highlight=False)
    with cli_views.TrainView(console, live=False) as view:
        for event in training_events(kl=5.0):
            view(event)
    lines = console.file.getvalue().splitlines()
    assert lines[0].startswith("training on cpu in fp32: 90 training, 10 validation, 100 test images; recipe fast")
    assert lines[1:] == [
        "epoch 1/2  train 155.00 (BCE 150.00 + KL 5.00)  val 155.00  test 155.00  1,000 img/s  best, saved",
        "epoch 2/2  train 155.00 (BCE 150.00 + KL 5.00)  val 155.00  test 155.00  1,000 img/s",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "banana"], "unknown device 'banana'"),
        (["--epochs", 0], "epochs must be at least 1, got 0"),
        (["--epochs", -3], "epochs must be at least 1, got -3"),
        (["--batch-size", 0], "batch size must be at least 1, got 0"),
        (["--lr", 0], "learning rate must be a positive number"),
        (["--lr", -1], "learning rate must be a positive number"),
        (["--limit", 0], "--limit must be at least 1"),
        (["--dataset", "nope"], "unknown dataset 'nope'; known: mnist"),
        (["--resume", "x.safetensors", "--lr", 1, "--out", "y"], "leave out --lr, --out"),
    ],
)
def test_train_rejects_bad_arguments(args: list[object], message: str) -> None:
    assert message in fails("train", *args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_train_says_when_cuda_is_absent() -> None:
    assert fails("train", "--device", "cuda").startswith("device 'cuda' is not available here; available:")


def test_train_says_where_it_looked_for_data(tmp_path: Path) -> None:
    message = fails("train", "--data-dir", tmp_path / "nowhere")
    assert f"in {tmp_path / 'nowhere'}" in message and "--data-dir" in message and "download" in message


def test_train_refuses_an_unwritable_output(idx_dir: Path, tmp_path: Path) -> None:
    message = fails("train", "--epochs", 1, "--data-dir", idx_dir, "--out", tmp_path / "absent" / "m.safetensors")
    assert "does not exist" in message


def test_train_resume_needs_a_resume_state(idx_dir: Path, random_checkpoint: Path) -> None:
    assert "no training state to resume" in fails("train", "--resume", random_checkpoint, "--data-dir", idx_dir)


# ---- pictures --------------------------------------------------------------------------------------------------


def test_export_grid(random_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert "420×420" in ok("export-grid", out, "-c", random_checkpoint).stdout
    assert picture(out).shape == (420, 420)
    assert "already exists: add --force" in fails("export-grid", out, "-c", random_checkpoint)
    ok("export-grid", out, "--n", 5, "--range", 3, "--scale", 2, "--checkpoint", random_checkpoint, "--force")
    assert picture(out).shape == (280, 280)


def test_generate_takes_negative_coordinates(random_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "digit.png"
    assert (
        "the digit at (-1.5, -0.25)" in ok("generate", -1.5, -0.25, out, "--scale", 3, "-c", random_checkpoint).stdout
    )
    assert picture(out).shape == (84, 84)


def test_reconstruct(random_checkpoint: Path, idx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.png"
    ok("reconstruct", out, "--n", 6, "--seed", 1, "--scale", 1, "-c", random_checkpoint, "--data-dir", idx_dir)
    rows = picture(out)
    assert rows.shape == (56, 168)
    test_digits = {digit.tobytes() for digit in MNIST.load("test", idx_dir).images.numpy()}
    top_row = [rows[:28, column : column + 28] for column in range(0, 168, 28)]
    assert all(digit.tobytes() in test_digits for digit in top_row)
    assert len({digit.tobytes() for digit in top_row}) == 6
    ok("reconstruct", tmp_path / "again.png", "--n", 6, "--seed", 1, "--scale", 1, "-c", random_checkpoint,
       "--data-dir", idx_dir)  # fmt: skip
    assert np.array_equal(picture(tmp_path / "again.png"), rows)


def test_interpolate_png_and_gif(random_checkpoint: Path, tmp_path: Path) -> None:
    ok("interpolate", -2, -2, 2, 1.5, tmp_path / "walk.png", "--steps", 7, "--scale", 1, "-c", random_checkpoint)
    assert picture(tmp_path / "walk.png").shape == (28, 196)
    result = ok("interpolate", -2, -2, 2, 1.5, tmp_path / "walk.gif", "--scale", 2, "-c", random_checkpoint)
    assert "animated" in result.stdout
    with Image.open(tmp_path / "walk.gif") as gif:
        assert (gif.n_frames, gif.size) == (10, (56, 56))


def test_export_map(random_checkpoint: Path, idx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    ok("export-map", out, "--size", 300, "-c", random_checkpoint, "--data-dir", idx_dir)
    assert picture(out).shape == (300, 370, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export-grid", "{tmp}/grid.png", "--n", 0], "grid size must be between 1 and 100, got 0"),
        (["export-grid", "{tmp}/grid.png", "--range", 0], "grid range must be a positive number up to 10000, got 0"),
        (
            ["export-grid", "{tmp}/grid.png", "--range", "inf"],
            "grid range must be a positive number up to 10000, got inf",
        ),
        (["generate", "inf", 0, "{tmp}/d.png"], "latent coordinates must be finite numbers within ±10000, got inf"),
        (["generate", "3e38", 0, "{tmp}/d.png"], "latent coordinates must be finite numbers within ±10000, got 3e+38"),
        (["generate", "1e300", 0, "{tmp}/d.png"], "within ±10000, got 1e+300"),
        (
            ["interpolate", 0, 0, "nan", 1, "{tmp}/w.png"],
            "latent coordinates must be finite numbers within ±10000, got nan",
        ),
        (["interpolate", 0, 0, "inf", 0, "{tmp}/w.png"], "within ±10000, got inf"),
        (["export-grid", "{tmp}/grid.jpg"], "the output name must end in .png"),
        (["export-grid", "{tmp}/absent/grid.png"], "absent does not exist"),
        (["export-grid", "{checkpoint}/grid.png"], "cannot write"),
        (["generate", 0, 0, "{tmp}/d.png", "--scale", 0], "scale must be at least 1, got 0"),
        (["interpolate", 0, 0, 1, 1, "{tmp}/w.png", "--steps", 1], "at least 2 steps, got 1"),
        (["interpolate", 0, 0, 1, 1, "{tmp}/w.mp4"], "must end in .png or .gif"),
        (["reconstruct", "{tmp}/r.png", "--n", 0], "--n must be at least 1, got 0"),
        (["reconstruct", "{tmp}/r.png", "--data-dir", "{tmp}/nowhere"], "no mnist file t10k-images-idx3-ubyte.gz"),
        (["export-map", "{tmp}/m.png", "--size", 10], "--size must be at least 200"),
        (["atlas", "--count", 0], "--count must be at least 1, got 0"),
        (["evaluate", "--k", 0, "--data-dir", "{data}"], "importance samples must be at least 1, got 0"),
        (["evaluate", "--iw-images", 0], "--iw-images must be at least 1"),
        (["evaluate", "--device", "banana"], "unknown device 'banana'"),
    ],
)
def test_picture_and_checkpoint_commands_reject_bad_arguments(
    args: list[object], message: str, random_checkpoint: Path, idx_dir: Path, tmp_path: Path
) -> None:
    values = {"tmp": tmp_path, "checkpoint": random_checkpoint, "data": idx_dir}
    assert message in fails(*[str(arg).format(**values) for arg in args], "-c", random_checkpoint)


@pytest.mark.parametrize("command", [["export-grid", "{tmp}/g.png"], ["info"], ["evaluate"], ["atlas"]])
def test_checkpoint_errors_are_one_line(command: list[str], tmp_path: Path) -> None:
    command = [part.format(tmp=tmp_path) for part in command]
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    flag = [] if command[0] == "info" else ["--checkpoint"]
    assert "is damaged or not a safetensors file" in fails(*command, *flag, corrupt)
    assert "does not exist" in fails(*command, *flag, tmp_path / "absent.safetensors")
    assert "is not a file" in fails(*command, *flag, tmp_path)


def test_a_missing_bundled_checkpoint_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vae_core.paths.BUNDLED_CHECKPOINT_NAME", "absent.safetensors")
    assert "the bundled checkpoint is missing" in fails("info")
    assert "the bundled checkpoint is missing" in fails("export-grid", tmp_path / "grid.png")


# ---- checkpoints -----------------------------------------------------------------------------------------------


def test_info_shows_the_metadata(random_checkpoint: Path) -> None:
    text = ok("info", random_checkpoint).stdout
    for expected in ("latent dim 2", "hidden dim 512", "random weights for tests", "resume state", "none"):
        assert expected in text


def test_evaluate_prints_the_librarys_figures(random_checkpoint: Path, idx_dir: Path) -> None:
    text = ok("evaluate", "-c", random_checkpoint, "--data-dir", idx_dir, "--k", 20, "--seed", 3, "--iw-images", 40,
              "--device", "cpu").stdout  # fmt: skip
    model, _ = load_checkpoint(random_checkpoint)
    train_set, test_set = MNIST.load("train", idx_dir), MNIST.load("test", idx_dir)
    loss = negative_elbo(model, test_set.images, seed=3)
    nll = importance_weighted_nll(model, test_set.images[:40], samples=20, seed=3)
    accuracy = knn_accuracy(
        encode_means(model, train_set.images), train_set.labels.numpy(),
        encode_means(model, test_set.images), test_set.labels.numpy(),
    )  # fmt: skip
    rows = {
        "reconstruction (BCE)": f"{loss.bce:.2f} nats",
        "KL to the prior": f"{loss.kl:.2f} nats",
        "negative ELBO": f"{loss.total:.2f} nats",
        "−log p(x), importance-weighted, k=20": f"{nll:.2f} nats",
        "5-NN accuracy of the latent means": f"{accuracy:.1%}",
    }
    for label, value in rows.items():
        line = next(line for line in text.splitlines() if label in line)
        assert line.split("│")[2].strip() == value, line
    assert "over the first 40 test images" in " ".join(text.split())
    assert "5-NN fit on 200 training images" in " ".join(text.split())


def test_atlas_goes_beside_the_checkpoint(random_checkpoint: Path, idx_dir: Path) -> None:
    from vae_core.atlas import load_atlas
    from vae_core.paths import atlas_path_for

    ok("atlas", "--count", 40, "-c", random_checkpoint, "--data-dir", idx_dir)
    atlas = load_atlas(atlas_path_for(random_checkpoint))
    assert len(atlas) == 40 and atlas.means.shape == (40, 2)
    assert "atlas" in ok("info", random_checkpoint).stdout


def test_explore_hands_its_options_to_the_explorer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    fake_app = types.ModuleType("vae_tui.app")
    fake_app.run_explorer = lambda *args, follow: calls.append((*args, follow))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vae_tui.app", fake_app)
    run = tmp_path / "m.safetensors"
    ok("explore", "--checkpoint", run, "--data-dir", tmp_path, "--colors", "256")
    ok("explore")
    ok("explore", "--follow", run)
    assert calls == [
        (run, tmp_path, "256", "auto", False),
        (None, None, None, "auto", False),
        (run, None, None, "auto", True),
    ]
    assert "--follow names the checkpoint" in vae("explore", "--follow", run, "--checkpoint", tmp_path / "x").output


# ---- end to end ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_export_info_resume_on_mnist(mnist_dir: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "mnist.safetensors"
    data = ["--data-dir", mnist_dir, "--limit", 2000]
    ok("train", "--recipe", "fast", "--epochs", 1, *data, "--out", checkpoint)
    assert checkpoint.is_file() and resume_path_for(checkpoint).is_file()

    grid = picture_of(ok("export-grid", tmp_path / "grid.png", "-c", checkpoint), tmp_path / "grid.png")
    assert grid.shape == (420, 420)
    assert grid.std() > 10 and len(np.unique(grid)) > 50  # not blank: varied strokes over a dark ground

    text = ok("info", checkpoint).stdout
    for expected in (
        "mnist",
        "2,000",
        "epochs trained",
        "fast: 1 epoch,",
        "warm-up 5%",
        "Adam β₂ 0.99",
        "output bias at the mean image",
        "vae train --recipe fast",
    ):
        assert expected in text

    ok("train", "--resume", checkpoint, "--epochs", 2, *data)
    provenance = read_checkpoint_info(checkpoint).provenance
    assert provenance["epochs"] == 2
    assert provenance["command"].startswith("vae train --recipe fast --epochs 1")
    assert provenance["resumed_with"][0].startswith(f"vae train --resume {checkpoint} --epochs 2")


def picture_of(result: Result, path: Path) -> np.ndarray:
    assert str(path) in result.stdout
    return picture(path)


# ---- issue 14: what surprised people -------------------------------------------------------------------------


def test_pictures_meant_to_be_looked_at_default_to_a_visible_size(random_checkpoint: Path, tmp_path: Path) -> None:
    ok("generate", 0, 0, tmp_path / "d.png", "-c", random_checkpoint)
    assert picture(tmp_path / "d.png").shape == (224, 224)
    ok("interpolate", 0, 0, 1, 1, tmp_path / "w.gif", "-c", random_checkpoint)
    with Image.open(tmp_path / "w.gif") as gif:
        assert gif.size == (224, 224)
    ok("generate", 0, 0, tmp_path / "small.png", "--scale", 1, "-c", random_checkpoint)
    assert picture(tmp_path / "small.png").shape == (28, 28)


def test_test_set_pictures_use_the_bundled_atlas_offline_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAE_EXPLORER_DATA", str(tmp_path / "empty-cache"))
    for command in (["reconstruct", tmp_path / "r.png"], ["export-map", tmp_path / "m.png"]):
        text = " ".join(ok(*command).stdout.split())
        assert "no mnist test set here: using the 3,000 test digits of the atlas" in text
        assert "pass --data-dir" in text
    assert not (tmp_path / "empty-cache").exists()


def test_export_map_fits_its_range_and_says_what_it_leaves_out(tmp_path: Path) -> None:
    from vae_core.atlas import fitted_extent, load_atlas
    from vae_core.paths import atlas_path_for, bundled_checkpoint_path

    means = load_atlas(atlas_path_for(bundled_checkpoint_path())).means
    assert fitted_extent(means) == np.ceil(np.abs(means).max()) > 4  # the 0 cluster reaches past x = 4
    text = " ".join(ok("export-map", tmp_path / "m.png").stdout.split())
    assert f"over [-{fitted_extent(means):g}, {fitted_extent(means):g}]²" in text and "outside" not in text
    outside = int((np.abs(means) > 1).any(axis=1).sum())
    text = " ".join(ok("export-map", tmp_path / "n.png", "--range", 1).stdout.split())
    assert f"{outside:,} lie outside it and are not drawn" in text


def test_evaluate_title_is_one_line_at_100_columns(random_checkpoint: Path, idx_dir: Path) -> None:
    console = Console(file=io.StringIO(), width=100)
    report = EvaluationReport(LossSummary(100.0, 5.0), 101.0, 10, 10, 0.5, 5, 200)
    console.print(cli_views.evaluation_table(random_checkpoint, "test", report))
    assert f"{random_checkpoint} on the test set" in console.file.getvalue().splitlines()[0]


def test_usage_errors_are_one_lower_case_error_line() -> None:
    assert fails("train", "--epochs", "many", exit_code=2).startswith("Invalid value for '--epochs'")
    assert "No such command 'trian'" in fails("trian", exit_code=2)


def test_an_unexpected_exception_is_one_line_with_a_log_of_its_traceback(
    random_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr("vae_core.images.latent_grid", broken)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    message = fails("export-grid", tmp_path / "g.png", "-c", random_checkpoint)
    assert message.startswith("unexpected RuntimeError: something nobody foresaw; this is a bug: please report it")
    log = Path(message.rsplit(" with ", 1)[1])
    assert log.is_file() and "Traceback" in log.read_text() and "something nobody foresaw" in log.read_text()
