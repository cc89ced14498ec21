"""Issue 14, finding by finding: hostile files and careless commands give one `error:` line and change nothing.

Each test is named after the finding it covers (findings 1-14, then the CLI surprises). A command runs in-process
through Typer's CliRunner, or as a process of its own where a crash of the interpreter, a real signal, the
terminal's encoding or a second process is the point.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from tests.conftest import fake_digits, ok, vae
from tests.test_reliability import VAE_COMMAND, one_line_error, process_env, snapshot
from vae_core.atlas import load_atlas
from vae_core.checkpoints import load_checkpoint, load_resume_state, read_checkpoint_info, save_checkpoint
from vae_core.data import MNIST, epoch_order, read_idx, seeded_sample
from vae_core.errors import VaeError
from vae_core.files import atomic_write, sidecar_stem, writer_lock
from vae_core.model import VAE, VAEConfig
from vae_core.paths import atlas_path_for, bundled_checkpoint_path, resume_path_for

TINY_RUN = ["--recipe", "plain", "--batch-size", "32", "--device", "cpu"]


def rewrite(path: Path, tensors: dict | None = None, **metadata: object) -> Path:
    """Rewrite a safetensors file with some tensors replaced and some metadata values replaced (as JSON)."""
    from safetensors import safe_open

    with safe_open(path, "pt") as opened:
        stored = opened.metadata()
    state = load_file(path) | (tensors or {})
    save_file(state, path, metadata=stored | {key: json.dumps(value) for key, value in metadata.items()})
    return path


def raw_metadata(path: Path, key: str, raw: str) -> Path:
    """Set one metadata value to ``raw``, not JSON-encoded (for values json.dumps cannot make)."""
    from safetensors import safe_open

    with safe_open(path, "pt") as opened:
        stored = opened.metadata()
    save_file(load_file(path), path, metadata=stored | {key: raw})
    return path


@pytest.fixture
def trained(idx_dir: Path, tmp_path: Path) -> Path:
    """A checkpoint with its resume state after 1 epoch of a 3-epoch run over the 200 fake digits of idx_dir."""
    out = tmp_path / "run" / "m.safetensors"
    out.parent.mkdir()
    ok("train", *TINY_RUN, "--epochs", 1, "--data-dir", idx_dir, "--out", out)
    return out


def checkpoint_with(tmp_path: Path, name: str, config: VAEConfig) -> Path:
    path = tmp_path / f"{name}.safetensors"
    torch.manual_seed(0)
    save_checkpoint(path, VAE(config))
    return path


# ---- 1. a resume file that crashed the interpreter --------------------------------------------------------------


def test_finding01_misshapen_adam_state_is_refused_before_training_not_a_segfault(idx_dir: Path, trained: Path) -> None:
    resume_file = resume_path_for(trained)
    rewrite(resume_file, {"adam.0.exp_avg": torch.zeros(3)})
    run = subprocess.run(
        [str(VAE_COMMAND), "train", "--resume", str(trained), "--data-dir", str(idx_dir), "--device", "cpu",
         "--epochs", "2"],
        capture_output=True, text=True, env=process_env(), timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: "), run.stderr
    assert "adam.0.exp_avg has shape [3], not [512, 784]" in run.stderr
    for name, bad in (("adam.0.exp_avg_sq", torch.zeros(3)), ("adam.0.step", torch.zeros(2)), ("adam.99.step", None)):
        state = load_file(resume_file) | {"adam.0.exp_avg": torch.zeros(512, 784)}
        state[name] = torch.zeros(()) if bad is None else bad
        save_file(state, resume_file, metadata=json_metadata(resume_file))
        with pytest.raises(VaeError, match="resume file .* (is damaged|does not fit its model)"):
            load_resume_state(trained)


def json_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(path, "pt") as opened:
        return opened.metadata()


# ---- 2. vae atlas overwrote checkpoints ---------------------------------------------------------------------------


def test_finding02_atlas_never_replaces_a_checkpoint_or_the_bundled_atlas(trained: Path, idx_dir: Path) -> None:
    folder = trained.parent
    before = snapshot(folder)
    bundled_atlas = atlas_path_for(bundled_checkpoint_path())
    bundled_bytes = bundled_atlas.read_bytes()
    result = vae("atlas", trained)  # the old positional output
    assert result.exit_code == 2 and "unexpected extra argument" in result.stderr
    assert "pass --out" in one_line_error(vae("atlas"))
    for target in (trained, resume_path_for(trained)):
        assert "already exists: add --force" in one_line_error(
            vae("atlas", "-c", trained, "--out", target, "--data-dir", idx_dir)
        )
        assert "is not an atlas" in one_line_error(
            vae("atlas", "-c", trained, "--out", target, "--force", "--data-dir", idx_dir)
        )
    assert snapshot(folder) == before and bundled_atlas.read_bytes() == bundled_bytes
    ok("atlas", "-c", trained, "--count", 20, "--data-dir", idx_dir)
    assert "already exists" in one_line_error(vae("atlas", "-c", trained, "--count", 20, "--data-dir", idx_dir))
    ok("atlas", "-c", trained, "--count", 30, "--data-dir", idx_dir, "--force")
    assert len(load_atlas(atlas_path_for(trained))) == 30


# ---- 3. files that crashed the explorer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tensor", "value", "problem"),
    [
        ("means", torch.zeros(3000, 3), "means of shape [3000, 3]"),
        ("means", torch.zeros(10, 2), "means of shape [10, 2]"),
        ("images", torch.zeros(3000, 784, dtype=torch.uint8), "images of shape [3000, 784]"),
        ("images", torch.zeros(3000, 32, 32, dtype=torch.uint8), "images of shape [3000, 32, 32]"),
        ("labels", torch.zeros(3000, 2, dtype=torch.int64), "labels of shape [3000, 2]"),
        ("labels", torch.full((3000,), 10, dtype=torch.int64), "not int64 from 0 to 9"),
        ("means", torch.full((3000, 2), float("nan")), "means beyond ±10000 (or not numbers)"),
        ("means", torch.full((3000, 2), 1e30), "means beyond ±10000"),
    ],
)
def test_finding03_atlas_the_explorer_would_crash_on_is_refused(
    tensor: str, value: torch.Tensor, problem: str, tmp_path: Path
) -> None:
    atlas = tmp_path / "m.atlas.safetensors"
    atlas.write_bytes(atlas_path_for(bundled_checkpoint_path()).read_bytes())
    rewrite(atlas, {tensor: value})
    with pytest.raises(VaeError, match="atlas .* is damaged: it holds ") as caught:
        load_atlas(atlas)
    assert problem in str(caught.value)


def test_finding03_checkpoints_the_explorer_would_crash_on_are_refused(tmp_path: Path) -> None:
    from vae_core.checkpoints import check_model_shape

    narrow = checkpoint_with(tmp_path, "narrow", VAEConfig(input_dim=100))
    with pytest.raises(VaeError, match="has 100 inputs and a 2-D latent space; the explorer needs 784 inputs"):
        check_model_shape(narrow, load_checkpoint(narrow)[1].config, "the explorer")
    nested = raw_metadata(checkpoint_with(tmp_path, "nested", VAEConfig()), "provenance", "[" * 100_000)
    with pytest.raises(VaeError, match="nested more than"):
        read_checkpoint_info(nested)


# ---- 4. one bad label asked for terabytes ----------------------------------------------------------------------


def write_labels(path: Path, labels: np.ndarray, type_code: int) -> None:
    dtype = {0x08: np.uint8, 0x09: np.int8, 0x0C: ">i4", 0x0D: ">f4"}[type_code]
    header = struct.pack(">BBBBI", 0, 0, type_code, 1, len(labels))
    path.write_bytes(gzip.compress(header + np.asarray(labels).astype(dtype).tobytes()))


@pytest.mark.parametrize(
    ("bad", "type_code"), [(2**31 - 1, 0x0C), (1_000_000, 0x0C), (-1, 0x09), (200, 0x08), (float("nan"), 0x0D)]
)
def test_finding04_labels_outside_0_to_9_are_refused_before_any_work(
    bad: float, type_code: int, idx_dir: Path, random_checkpoint: Path
) -> None:
    _, labels = fake_digits(100, seed=100)
    labels = labels.astype(np.float64)
    labels[7] = bad
    write_labels(idx_dir / MNIST.files["test"][1].name, labels, type_code)
    message = one_line_error(vae("evaluate", "-c", random_checkpoint, "--data-dir", idx_dir, "--device", "cpu"))
    assert "t10k-labels-idx1-ubyte.gz: labels must be whole numbers from 0 to 9" in message


# ---- 5. model shapes checked by every command ------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["generate", 0, 0, "{tmp}/d.png"],
        ["export-grid", "{tmp}/g.png"],
        ["interpolate", 0, 0, 1, 1, "{tmp}/w.png"],
        ["reconstruct", "{tmp}/r.png", "--data-dir", "{data}"],
        ["export-map", "{tmp}/m.png", "--data-dir", "{data}"],
        ["atlas", "--out", "{tmp}/a.safetensors", "--data-dir", "{data}"],
        ["evaluate", "--data-dir", "{data}", "--device", "cpu"],
    ],
    ids=lambda command: command[0],
)
def test_finding05_every_command_checks_the_model_shape_it_needs(
    command: list[object], tmp_path: Path, idx_dir: Path
) -> None:
    args = [str(part).format(tmp=tmp_path, data=idx_dir) for part in command] + ["--force"] * (command[0] != "evaluate")
    narrow = checkpoint_with(tmp_path, "narrow", VAEConfig(input_dim=100))
    assert "has 100 inputs and a 2-D latent space" in one_line_error(vae(*args, "-c", narrow))
    plane = command[0] in ("generate", "export-grid", "interpolate", "export-map", "atlas")
    for latent in (1, 3):
        other = checkpoint_with(tmp_path, f"latent{latent}", VAEConfig(latent_dim=latent))
        result = vae(*args, "-c", other)
        if plane:
            assert f"has 784 inputs and a {latent}-D latent space" in one_line_error(result)
            assert "needs 784 inputs (28×28 images) and a 2-D latent space" in one_line_error(result)
        else:
            assert result.exit_code == 0, result.output
    written = {path.name for path in tmp_path.glob("*.png")}
    assert written == ({"r.png"} if command[0] == "reconstruct" else set())  # only the 784-input runs wrote


# ---- 6. large seeds ----------------------------------------------------------------------------------------------


def test_finding06_large_seeds_train_or_give_one_line(idx_dir: Path, tmp_path: Path, random_checkpoint: Path) -> None:
    assert torch.equal(epoch_order(50, 5, 2, torch.device("cpu")), seeded_sample(50, None, 5 * 1_000_003 + 2))
    ok("train", *TINY_RUN, "--epochs", 1, "--seed", 10**14, "--data-dir", idx_dir, "--out", tmp_path / "a.safetensors")
    ok("train", *TINY_RUN, "--epochs", 1, "--seed", 2**63 - 1, "--data-dir", idx_dir,
       "--out", tmp_path / "b.safetensors")  # fmt: skip
    huge = str(2**64)
    for command in (
        ["train", *TINY_RUN, "--seed", huge, "--data-dir", idx_dir, "--out", tmp_path / "c.safetensors"],
        ["reconstruct", tmp_path / "r.png", "--seed", huge, "-c", random_checkpoint, "--data-dir", idx_dir],
        ["evaluate", "--seed", huge, "-c", random_checkpoint, "--data-dir", idx_dir, "--device", "cpu"],
    ):
        assert "a seed must be a whole number from 0 to" in one_line_error(vae(*command))


# ---- 7. metadata and resume state were trusted -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provenance", "problem"),
    [
        ({"recipe": "fast"}, "provenance.recipe must be an object"),
        ({"recipe": {"batch_size": "x"}}, "not a valid recipe"),
        ({"test_loss": "low"}, "provenance.test_loss must be an object"),
        ({"train_seconds": "7m"}, "provenance.train_seconds must be a finite number"),
        ({"train_seconds": float("inf")}, "provenance.train_seconds must be a finite number"),
        ({"epochs": 2.5}, "provenance.epochs must be a whole number"),
    ],
)
def test_finding07_provenance_of_the_wrong_type_is_one_line(provenance: dict, problem: str, tmp_path: Path) -> None:
    path = rewrite(checkpoint_with(tmp_path, "m", VAEConfig()), provenance=provenance)
    assert problem in one_line_error(vae("info", path))


def test_finding07_deeply_nested_metadata_is_one_line_everywhere(idx_dir: Path, trained: Path, tmp_path: Path) -> None:
    raw_metadata(trained, "provenance", "[" * 100_000)
    raw_metadata(resume_path_for(trained), "provenance", "[" * 100_000)
    for command in (
        ["info", trained],
        ["generate", 0, 0, tmp_path / "d.png", "-c", trained],
        ["train", "--resume", trained, "--data-dir", idx_dir],
    ):
        assert "nested more than 12 levels deep" in one_line_error(vae(*command))


def mutate_state(state: dict, change: str) -> None:
    if change == "history as text":
        state["history"] = "oops"
    elif change == "history entry missing keys":
        del state["history"][0]["train"]
    elif change == "best_val as text":
        state["best_val"] = "low"
    elif change == "best epoch beyond the history":
        state["best_epoch"] = 5
    elif change == "step beyond an epoch":
        state["step"] = 10**9


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("epoch_sums [3]", "epoch_sums has shape [3], not [2]"),
        ("epoch_sums int64", "epoch_sums holds int64, not float32"),
        ("history as text", "history must be a list"),
        ("history entry missing keys", "lacks train"),
        ("best_val as text", "best_val must be a number"),
        ("best epoch beyond the history", "best epoch 5 is beyond its 1 finished epochs"),
        ("step beyond an epoch", "stopped at step 1000000000 of an epoch of 6 steps"),
        ("batch_size 2.5", "batch size cannot be 2.5"),
        ("seed 'x'", "seed cannot be 'x'"),
    ],
)
def test_finding07_resume_state_of_the_wrong_shape_or_type_is_refused_before_training(
    change: str, problem: str, trained: Path
) -> None:
    resume_file = resume_path_for(trained)
    metadata = json_metadata(resume_file)
    state, config = json.loads(metadata["state"]), json.loads(metadata["train_config"])
    tensors = {}
    if change.startswith("epoch_sums"):
        tensors["epoch_sums"] = torch.zeros(3) if "[3]" in change else torch.zeros(2, dtype=torch.int64)
    elif change == "batch_size 2.5":
        config["batch_size"] = 2.5
    elif change == "seed 'x'":
        config["seed"] = "x"
    else:
        mutate_state(state, change)
    rewrite(resume_file, tensors, state=state, train_config=config)
    with pytest.raises(VaeError, match=f"resume file {resume_file} (is damaged|does not fit its model)") as caught:
        load_resume_state(trained)
    assert problem in str(caught.value)


# ---- 8. vae info hung on a long string ------------------------------------------------------------------------


def test_finding08_huge_strings_in_metadata_are_refused_at_once(tmp_path: Path) -> None:
    path = checkpoint_with(tmp_path, "m", VAEConfig())
    rewrite(path, provenance={"note": "x" * 5_000_000})
    assert "holds a string of 5,000,000 characters" in one_line_error(vae("info", path))
    rewrite(path, provenance={"note": "x" * 50_000_000})
    assert "is damaged or not a safetensors file (its header size is" in one_line_error(vae("info", path))


# ---- 9. long names ---------------------------------------------------------------------------------------------


def test_finding09_long_legal_names_are_written_and_too_long_ones_refused_first(
    idx_dir: Path, tmp_path: Path, random_checkpoint: Path
) -> None:
    png = tmp_path / ("p" * 246 + ".png")
    ok("generate", 0, 0, png, "-c", random_checkpoint)
    assert Image.open(png).size == (224, 224)
    out = tmp_path / ("m" * 226 + ".safetensors")  # 238 characters; its resume state's name is 245
    ok("train", *TINY_RUN, "--epochs", 2, "--data-dir", idx_dir, "--out", out)
    assert load_resume_state(out).progress["epoch"] == 2
    too_long = tmp_path / ("m" * 238 + ".safetensors")  # fits, but its resume state's name would not
    assert "is 257 bytes long; file names hold 255" in one_line_error(
        vae("train", *TINY_RUN, "--data-dir", idx_dir, "--out", too_long)
    )
    assert {len(os.fsencode(path.name)) <= 255 for path in tmp_path.iterdir()} == {True}
    assert not list(tmp_path.glob(".*"))


# ---- 10. ASCII-only stdout ---------------------------------------------------------------------------------------


def test_finding10_output_works_on_an_ascii_only_terminal(tmp_path: Path, random_checkpoint: Path) -> None:
    script = "import cli, sys; sys.argv = ['vae', *sys.argv[1:]]; cli.app()"
    env = process_env() | {"PYTHONIOENCODING": "ascii"}
    for args in (["export-grid", str(tmp_path / "g.png"), "-c", str(random_checkpoint)], ["info"]):
        run = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert run.returncode == 0 and run.stderr == "", run.stdout + run.stderr
    assert "wrote" in run.stdout or "network" in run.stdout
    export = subprocess.run(
        [sys.executable, "-c", script, "export-grid", str(tmp_path / "h.png"), "-c", str(random_checkpoint)],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert export.returncode == 0 and export.stdout.isascii(), export.stdout
    assert b"420x420, 15x15 digits over [-2, 2]^2" in export.stdout


# ---- 11. a temporary file left by a kill -----------------------------------------------------------------------


def test_finding11_the_temporary_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path: Path) -> None:
    target = tmp_path / "k.resume.safetensors"
    killed = textwrap.dedent(f"""
        import os, signal
        from vae_core import files
        os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
        files.atomic_write(files.Path({str(target)!r}), b"x" * 1_000_000)
    """)
    run = subprocess.run([sys.executable, "-c", killed], capture_output=True, timeout=60, check=False)
    assert run.returncode == -signal.SIGKILL
    left = [path.name for path in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(f"{sidecar_stem(target.name)}.") and left[0].endswith(".tmp"), left
    with writer_lock(target):  # a live writer's temporary file is never taken for a stale one
        atomic_write(target, b"new")
    assert [path.name for path in tmp_path.iterdir()] == [target.name]
    assert target.read_bytes() == b"new"


# ---- 12. holding Ctrl-C --------------------------------------------------------------------------------------


def test_finding12_a_burst_of_ctrl_c_ends_cleanly_with_the_resume_hint(idx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    process = subprocess.Popen(
        [str(VAE_COMMAND), "train", *TINY_RUN, "--epochs", "100000", "--data-dir", str(idx_dir), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=process_env(),
    )  # fmt: skip
    assert process.stdout is not None
    threading.Timer(120, process.kill).start()  # a run that ignored every signal must not hang the suite
    for line in process.stdout:
        if re.match(r"epoch +2/", line):
            break
    for _ in range(40):
        process.send_signal(signal.SIGINT)
        time.sleep(0.005)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert f"resume with: vae train --resume {out} --data-dir {idx_dir} --device cpu" in stdout
    assert load_resume_state(out).progress["epoch"] >= 1


# ---- 13. misleading or surprising answers --------------------------------------------------------------------


def test_finding13_force_never_replaces_a_directory_a_device_or_a_link(
    idx_dir: Path, tmp_path: Path, random_checkpoint: Path
) -> None:
    folder, pipe = tmp_path / "folder.safetensors", tmp_path / "pipe.png"
    folder.mkdir()
    os.mkfifo(pipe)
    for force in ([], ["--force"]):
        message = one_line_error(vae("train", *TINY_RUN, "--data-dir", idx_dir, "--out", folder, *force))
        assert message == f"{folder} is a directory: name a file to write"
        message = one_line_error(vae("train", *TINY_RUN, "--data-dir", idx_dir, "--out", "/dev/full", *force))
        assert "/dev/full is not a regular file (a device or a pipe)" in message
        assert "is not a regular file" in one_line_error(vae("generate", 0, 0, pipe, *force))
        assert pipe.exists() and not pipe.is_file()
    target, link, dangling = tmp_path / "target.png", tmp_path / "link.png", tmp_path / "dangling.png"
    target.write_bytes(b"old")
    link.symlink_to(target)
    dangling.symlink_to(tmp_path / "absent.png")
    assert "already exists: add --force" in one_line_error(vae("generate", 0, 0, link, "-c", random_checkpoint))
    ok("generate", 0, 0, link, "-c", random_checkpoint, "--force")
    assert link.is_symlink() and Image.open(target).size == (224, 224)
    assert "is a symlink to" in one_line_error(vae("generate", 0, 0, dangling, "-c", random_checkpoint, "--force"))
    assert dangling.is_symlink() and not (tmp_path / "absent.png").exists()


def test_finding13_damaged_checkpoints_say_what_is_wrong_in_a_few_words(tmp_path: Path) -> None:
    good = checkpoint_with(tmp_path, "m", VAEConfig())
    rewrite(good, format_version="1")
    assert "its format version '1' is not a whole number" in one_line_error(vae("info", good))
    rewrite(good, format_version=1)
    for dtype in (torch.int64, torch.bool):
        path = tmp_path / f"{dtype}.safetensors".replace("torch.", "")
        path.write_bytes(good.read_bytes())
        rewrite(path, {"decoder.4.bias": torch.zeros(784, dtype=dtype)})
        message = one_line_error(vae("generate", 0, 0, tmp_path / "d.png", "-c", path))
        assert message.endswith(f"decoder.4.bias holds {str(dtype).removeprefix('torch.')}, not float32")
    rewrite(good, {"decoder.4.bias": torch.full((784,), float("nan"))})
    assert "decoder.4.bias holds NaN or infinite values" in one_line_error(
        vae("generate", 0, 0, tmp_path / "d.png", "-c", good)
    )
    assert not (tmp_path / "d.png").exists()


def test_finding13_a_gzip_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    liar = tmp_path / "liar.gz"  # a few kilobytes promising 3.1 GB
    liar.write_bytes(gzip.compress(struct.pack(">BBBBIII", 0, 0, 8, 3, 4_000_000, 28, 28) + bytes(100_000)))
    with pytest.raises(VaeError, match="more than a .*-byte gzip file can expand to"):
        read_idx(liar)
    bomb = tmp_path / "bomb.gz"  # promises 10 images, expands to 30 MB
    bomb.write_bytes(gzip.compress(struct.pack(">BBBBIII", 0, 0, 8, 3, 10, 28, 28) + bytes(30_000_000)))
    with pytest.raises(VaeError, match="promises 7840 bytes of data .* file has 7840 and more"):
        read_idx(bomb)


# ---- 14. two writers of one run ------------------------------------------------------------------------------


def test_finding14_a_second_writer_of_the_same_run_fails_at_once_naming_the_first(idx_dir: Path, trained: Path) -> None:
    before = snapshot(trained.parent)
    with writer_lock(trained):
        message = one_line_error(vae("train", "--resume", trained, "--data-dir", idx_dir))
        assert message.startswith(f"another process (PID {os.getpid()}) is writing {trained}")
        assert "already exists" in one_line_error(vae("train", *TINY_RUN, "--data-dir", idx_dir, "--out", trained))
        force = vae("train", *TINY_RUN, "--data-dir", idx_dir, "--out", trained, "--force")
        assert f"PID {os.getpid()}" in one_line_error(force)
    lock_files = [path for path in trained.parent.iterdir() if path.name.endswith(".lock")]
    assert lock_files == [] and snapshot(trained.parent) == before
    assert "epoch 2/2" in ok("train", "--resume", trained, "--data-dir", idx_dir, "--epochs", 2).stdout


# ---- found by the fuzzer (tests/fuzz) --------------------------------------------------------------------------


def test_fuzz_find_a_config_too_large_to_build_even_without_memory_is_one_line(tmp_path: Path) -> None:
    path = rewrite(checkpoint_with(tmp_path, "m", VAEConfig()), config={"latent_dim": 2, "hidden_dim": 2**31 - 1})
    message = one_line_error(vae("generate", 0, 0, tmp_path / "d.png", "-c", path))
    assert message.startswith(f"checkpoint {path} has a model config that describes no buildable network")


def test_fuzz_find_a_key_holding_a_newline_still_gives_one_line(trained: Path) -> None:
    rewrite(resume_path_for(trained), model_config={"\n": None})
    with pytest.raises(VaeError) as caught:
        load_resume_state(trained)
    assert "\n" not in str(caught.value) and "unexpected keyword argument" in str(caught.value)
