"""Issue 7, case by case: every bad input a user or a hostile file brings gets one clear line, nothing is lost.

Each test runs the real `vae` command as a user meets it: in-process through Typer's CliRunner, or as a process
of its own where a real signal or a real second process is the point. A failure must print exactly one line on
stderr, starting with ``error:``, exit non-zero, show no traceback, and leave every file it was given or had
written before byte for byte as it was. Case 9 (the explorer) is tested under tests/tui.
"""

from __future__ import annotations

import codecs
import errno
import functools
import gzip
import hashlib
import json
import math
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import Result

import cli
from tests.conftest import fake_digits, ok, vae
from vae_core import checkpoints, files, plugins, training
from vae_core.checkpoints import load_checkpoint, read_tensors
from vae_core.data import DATA_DIR_ENV, MNIST, IdxDataset, IdxFile, write_idx
from vae_core.history import load_history
from vae_core.model import VAE, VAEConfig
from vae_core.paths import history_path_for, resume_path_for

VAE_COMMAND = Path(sys.executable).with_name("vae")
TRAIN_TINY = ["train", "--recipe", "plain", "--batch-size", "32", "--device", "cpu"]
"""A training run over the 200 fake digits of `idx_dir` that takes about a second in-process."""


def one_line_error(result: Result) -> str:
    """Assert the failure a user should see (one ``error:`` line on stderr, exit 1, no traceback); its message."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0].removeprefix("error: ")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder with its bytes, to show that a failed command changed nothing. A training run's lock
    file (see vae_core.files.writer_lock) is left out: it lies beside the checkpoint while the run is alive."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(".safetensors.lock")
    }


def checkpoint_metadata(**fields: object) -> dict[str, str]:
    values = {"format": "vae-explorer", "format_version": 1, "model": "vae", "config": VAEConfig().to_dict()}
    return {key: json.dumps(value) for key, value in (values | fields).items()}


# ---- 1. checkpoints ------------------------------------------------------------------------------------------


def make_bad_checkpoint(kind: str, folder: Path, good: Path) -> Path:
    """A checkpoint path that is wrong in one way, made from the seeded random checkpoint ``good``."""
    path = folder / f"{kind}.safetensors"
    state = VAE().state_dict()
    if kind == "directory":
        path.mkdir()
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "not-safetensors":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    elif kind == "foreign-safetensors":
        save_file({"w": torch.zeros(2)}, path)
    elif kind == "missing-tensors":
        save_file({k: v for k, v in state.items() if not k.startswith("decoder")}, path, checkpoint_metadata())
    elif kind == "misshapen-tensors":
        save_file(state | {"mu_head.weight": torch.zeros(3, 512)}, path, checkpoint_metadata())
    elif kind == "newer-format":
        save_file(state, path, checkpoint_metadata(format_version=2))
    elif kind == "unreadable-config":
        save_file(state, path, checkpoint_metadata(config={"latent_dim": "two"}))
    elif kind == "config-promising-a-huge-network":
        save_file(state, path, checkpoint_metadata(config={"hidden_dim": 10**7}))
    elif kind != "missing":
        raise ValueError(kind)
    return path


BAD_CHECKPOINTS = {
    "missing": "does not exist",
    "directory": "is not a file",
    "truncated": "is damaged or not a safetensors file",
    "not-safetensors": "is damaged or not a safetensors file",
    "foreign-safetensors": "is a safetensors file but not a vae-explorer checkpoint",
    "missing-tensors": "does not fit its model: it lacks decoder.0.bias, decoder.0.weight, decoder.2.bias",
    "misshapen-tensors": "does not fit its model: mu_head.weight has shape [3, 512], not [2, 512]",
    "newer-format": "has format version 2; this vae-explorer reads up to 1: upgrade vae-explorer",
    "unreadable-config": "has an unreadable model config (latent dim must be a whole number",
    "config-promising-a-huge-network": "does not fit its model",
}


@pytest.mark.parametrize("kind", BAD_CHECKPOINTS)
def test_case1_bad_checkpoint_gives_one_line_and_exit_1(
    kind: str, random_checkpoint: Path, idx_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    path = make_bad_checkpoint(kind, folder, random_checkpoint)
    before = snapshot(folder)
    commands = [
        ["info", path],
        ["export-grid", folder / "grid.png", "--checkpoint", path],
        ["evaluate", "--checkpoint", path, "--data-dir", idx_dir, "--device", "cpu"],
    ]
    if kind in ("missing-tensors", "misshapen-tensors", "config-promising-a-huge-network"):
        commands = commands[1:]  # `vae info` reads only the metadata, which is sound in these files
    for command in commands:
        message = one_line_error(vae(*command))
        assert message.startswith(f"checkpoint {path} ") and BAD_CHECKPOINTS[kind] in message, message
    assert snapshot(folder) == before


# ---- 2. pickles ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["pickle", "torch.save"])
def test_case2_pickle_disguised_as_checkpoint_is_never_unpickled(
    form: str, exploit_bytes: dict[str, bytes], tmp_path: Path
) -> None:
    disguised = tmp_path / "model.safetensors"
    disguised.write_bytes(exploit_bytes[form])
    for command in (["info", disguised], ["export-grid", tmp_path / "grid.png", "-c", disguised]):
        assert "is damaged or not a safetensors file" in one_line_error(vae(*command))
    assert not Path("pwned").exists()
    assert disguised.read_bytes() == exploit_bytes[form]


@pytest.mark.parametrize("form", ["pickle", "torch.save"])
def test_case2_pickle_disguised_as_resume_file_is_never_unpickled(
    form: str, exploit_bytes: dict[str, bytes], random_checkpoint: Path, idx_dir: Path, tmp_path: Path
) -> None:
    resume_file = resume_path_for(random_checkpoint)
    resume_file.write_bytes(exploit_bytes[form])
    checkpoint_bytes = random_checkpoint.read_bytes()
    message = one_line_error(vae("train", "--resume", random_checkpoint, "--data-dir", idx_dir))
    assert message.startswith(f"resume file {resume_file} is damaged or not a safetensors file")
    assert not Path("pwned").exists()
    assert resume_file.read_bytes() == exploit_bytes[form]
    assert random_checkpoint.read_bytes() == checkpoint_bytes


# ---- 3. IDX files --------------------------------------------------------------------------------------------


def spoil_idx_dir(kind: str, folder: Path) -> str:
    """Damage the fake MNIST folder in one way; the name of the file the message must name."""
    images, labels = (folder / f.name for f in MNIST.files["train"])
    if kind == "wrong-magic":
        images.write_bytes(b"\x12\x34\x08\x03" + images.read_bytes()[4:])
    elif kind == "truncated-data":
        images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes())[:-100]))
    elif kind == "label-count-mismatch":
        write_idx(labels, np.zeros(199, np.uint8))
        return labels.name
    elif kind == "labels-not-1d":
        write_idx(labels, np.zeros((200, 1), np.uint8))
        return labels.name
    elif kind == "no-images":
        write_idx(images, np.zeros((0, 28, 28), np.uint8))
        write_idx(labels, np.zeros(0, np.uint8))
    elif kind == "images-not-28x28":
        write_idx(images, np.zeros((200, 20, 20), np.uint8))
    elif kind == "corrupt-gzip":
        data = bytearray(images.read_bytes())
        data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
        images.write_bytes(bytes(data))
    elif kind == "empty-directory":
        for path in folder.iterdir():
            path.unlink()
    elif kind == "only-the-test-files":
        images.unlink()
        labels.unlink()
    return images.name


IDX_PROBLEMS = {
    "wrong-magic": "not an IDX file (bad magic number 12340803)",
    "truncated-data": "IDX header promises 156800 bytes of data for shape (200, 28, 28), file has 156700",
    "label-count-mismatch": "199 labels for 200 images",
    "labels-not-1d": "expected one label per image (1-D), found shape (200, 1)",
    "no-images": "holds no images",
    "images-not-28x28": "expected uint8 images of 28×28, found uint8 of shape (200, 20, 20)",
    "corrupt-gzip": "cannot be read as IDX",
    "empty-directory": "no mnist file train-images-idx3-ubyte.gz in",
    "only-the-test-files": "no mnist file train-images-idx3-ubyte.gz in",
}


@pytest.mark.parametrize("kind", IDX_PROBLEMS)
def test_case3_bad_idx_files_give_one_line_naming_the_file(
    kind: str, idx_dir: Path, random_checkpoint: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for path in idx_dir.glob("*-ubyte.gz"):
        path.rename(data / path.name)
    named = spoil_idx_dir(kind, data)
    before = snapshot(data)
    out = tmp_path / "m.safetensors"
    message = one_line_error(vae(*TRAIN_TINY, "--epochs", 1, "--data-dir", data, "--out", out))
    assert named in message and IDX_PROBLEMS[kind] in message, message
    assert snapshot(data) == before and not out.exists()
    if kind == "only-the-test-files":  # what needs only the test set still works from that folder
        ok("reconstruct", tmp_path / "rows.png", "-c", random_checkpoint, "--data-dir", data)


# ---- 4. downloads --------------------------------------------------------------------------------------------


def served_idx(folder: Path, name: str) -> IdxFile:
    """Serve fake digits as ``name`` from ``folder``; the entry with their true MD5."""
    write_idx(folder / name, fake_digits(20)[0])
    return IdxFile(name, hashlib.md5((folder / name).read_bytes()).hexdigest())


@pytest.mark.parametrize("failure", ["http-404", "connection-refused", "stalled-server", "cut-short", "wrong-checksum"])
def test_case4_failed_download_names_the_mirror_and_leaves_no_partial_file(
    failure: str,
    server: tuple[Path, str],
    bad_server: str,
    refused_url: str,
    random_checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served, url = server
    images = IdxFile("imgs-stall.gz" if failure == "stalled-server" else "imgs.gz", "0" * 32)
    if failure == "wrong-checksum":
        images = IdxFile(served_idx(served, "imgs.gz").name, "f" * 32)
    mirrors = {"connection-refused": refused_url, "stalled-server": bad_server, "cut-short": bad_server}
    mirror = mirrors.get(failure, url)
    labels = IdxFile("lbls.gz", "0" * 32)
    # No retries: pooch sleeps 1 s, 2 s, ... before each; a sub-second timeout for the stalled server.
    files = {"train": (images, labels), "test": (images, labels)}
    dataset = IdxDataset("local", (mirror,), files, "test data", download_timeout_s=0.3, download_retries=0)
    registry = plugins.Registry(plugins.DATASETS.group, "dataset")
    registry.register("local", dataset)
    monkeypatch.setattr(plugins, "DATASETS", registry)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "cache"))
    for command in (
        ["train", "--dataset", "local", "--epochs", 1, "--out", tmp_path / "m.safetensors"],
        ["evaluate", "--dataset", "local", "-c", random_checkpoint, "--device", "cpu"],
    ):
        message = one_line_error(vae(*command))
        assert message.startswith(f"could not download {images.name}; tried {mirror}{images.name}: "), message
        assert message.endswith("or pass --data-dir with the files")
        cache = tmp_path / "cache"
        assert not cache.exists() or snapshot(cache) == {}, "a partial or temporary file was left in the cache"
    assert not (tmp_path / "m.safetensors").exists()


# ---- 5. arguments --------------------------------------------------------------------------------------------


BAD_ARGUMENTS = {
    "device-cuda-absent": (["train", "--device", "cuda"], "device 'cuda' is not available here; available: "),
    "device-cuda7-absent": (["train", "--device", "cuda:7"], "device 'cuda:7' is not available here; available: "),
    "device-banana": (["train", "--device", "banana"], "unknown device 'banana': use auto, cpu, cuda, cuda:N or mps"),
    "evaluate-device-cuda7": (["evaluate", "--device", "cuda:7"], "device 'cuda:7' is not available here"),
    "zero-epochs": (["train", "--epochs", 0], "epochs must be at least 1, got 0"),
    "negative-epochs": (["train", "--epochs", -2], "epochs must be at least 1, got -2"),
    "zero-batch-size": (["train", "--batch-size", 0], "batch size must be at least 1, got 0"),
    "negative-batch-size": (["train", "--batch-size", -32], "batch size must be at least 1, got -32"),
    "zero-lr": (["train", "--lr", 0], "learning rate must be a positive number, got 0.0"),
    "negative-lr": (["train", "--lr", -0.001], "learning rate must be a positive number, got -0.001"),
    "nan-lr": (["train", "--lr", "nan"], "learning rate must be a positive number, got nan"),
    "grid-n-0": (["export-grid", "{out}/grid.png", "--n", 0], "grid size must be between 1 and 100, got 0"),
    "grid-n-huge": (["export-grid", "{out}/grid.png", "--n", 10**9], "grid size must be between 1 and 100"),
    "grid-scale-huge": (
        ["export-grid", "{out}/grid.png", "--n", 100, "--scale", 100],
        "a 280,000×280,000 picture would be over 268,435,456 pixels",
    ),
    "digit-scale-huge": (["generate", 0, 0, "{out}/d.png", "--scale", 10**6], "would be over 268,435,456 pixels"),
    "map-size-huge": (["export-map", "{out}/map.png", "--size", 10**6], "would be over 268,435,456 pixels"),
    "interpolation-steps-huge": (["interpolate", 0, 0, 1, 1, "{out}/w.png", "--steps", 10**8], "at most 1,000 steps"),
    "animation-huge": (
        ["interpolate", 0, 0, 1, 1, "{out}/w.gif", "--steps", 1000, "--scale", 30],
        "1,000 frames of 840×840 would be over 268,435,456 pixels",
    ),
    "reconstruct-n-0": (["reconstruct", "{out}/r.png", "--n", 0], "--n must be at least 1, got 0"),
    "importance-samples-huge": (["evaluate", "--k", 10**9, "--device", "cpu"], "at most 50,000, got 1,000,000,000"),
    "picture-in-missing-directory": (
        ["export-grid", "{out}/absent/grid.png"],
        "cannot write {out}/absent/grid.png: directory {out}/absent does not exist",
    ),
    "checkpoint-in-missing-directory": (
        ["train", "--epochs", 1, "--out", "{out}/absent/m.safetensors"],
        "cannot write {out}/absent/m.safetensors: directory {out}/absent does not exist",
    ),
}


@pytest.mark.parametrize("case", BAD_ARGUMENTS)
def test_case5_bad_argument_gives_one_line_and_writes_nothing(
    case: str, random_checkpoint: Path, idx_dir: Path, tmp_path: Path
) -> None:
    if "cuda" in case and torch.cuda.device_count() > (7 if "7" in case else 0):
        pytest.skip("this machine has that GPU")
    args, expected = BAD_ARGUMENTS[case]
    out = tmp_path / "out"
    out.mkdir()
    args = [str(arg).format(out=out) for arg in args]
    data = [] if args[0] in ("export-grid", "generate", "interpolate") else ["--data-dir", idx_dir]
    checkpoint = [] if args[0] == "train" else ["--checkpoint", random_checkpoint]
    message = one_line_error(vae(*args, *data, *checkpoint))
    assert expected.format(out=out) in message, message
    assert snapshot(out) == {}


@pytest.mark.parametrize("command", ["export-grid", "train"])
def test_case5_read_only_output_directory_gives_one_line_and_keeps_the_old_file(
    command: str, random_checkpoint: Path, idx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root here, and chmod does not stop root from writing; so the directory's refusal is simulated
    # where atomic_write would meet it: renaming the finished temporary file over the old one is denied.
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("grid.png" if command == "export-grid" else "m.safetensors")
    target.write_bytes(b"the previous file")

    def read_only(source: object, destination: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(destination))

    monkeypatch.setattr(files.os, "replace", read_only)
    if command == "export-grid":
        message = one_line_error(vae("export-grid", target, "-c", random_checkpoint, "--force"))
    else:
        message = one_line_error(vae(*TRAIN_TINY, "--epochs", 1, "--data-dir", idx_dir, "--out", target, "--force"))
    assert message == f"cannot write {target}: Permission denied"
    assert snapshot(out) == {target.name: b"the previous file"}, "the old file changed or a temporary file was left"


# ---- 6. disk full ----------------------------------------------------------------------------------------------


def test_case6_disk_full_at_the_second_save_keeps_the_previous_checkpoint(
    idx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run" / "m.safetensors"
    out.parent.mkdir()
    disk = {"full": False, "saves": 0, "before": {}}
    real_atomic_write, real_fsync = checkpoints.atomic_write, os.fsync

    def atomic_write(path: Path, data: bytes) -> None:
        if Path(path) == out:
            disk["saves"] += 1
            if disk["saves"] == 2:  # the disk fills up just as the second epoch's best weights are saved
                disk["full"], disk["before"] = True, snapshot(out.parent)
        real_atomic_write(path, data)

    def fsync(fd: int) -> None:
        if disk["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(checkpoints, "atomic_write", atomic_write)
    monkeypatch.setattr(files.os, "fsync", fsync)
    message = one_line_error(vae(*TRAIN_TINY, "--epochs", 3, "--data-dir", idx_dir, "--out", out))
    assert disk["full"], "the run never saved a second checkpoint, so the fault was not injected"
    assert message == f"cannot write {out}: No space left on device"
    assert snapshot(out.parent) == disk["before"], "a file changed, or a temporary file was left behind"
    load_checkpoint(out)
    # Nothing is lost: with space again, the run resumes from the state saved with that checkpoint.
    monkeypatch.undo()
    resumed = ok("train", "--resume", out, "--data-dir", idx_dir).stdout
    assert "resuming at epoch 2, step 0" in resumed and "epoch 3/3" in resumed


# ---- 7. Ctrl-C and SIGTERM -------------------------------------------------------------------------------------


RECIPE_RUNS = {
    # The tutorial loop, and the default recipe with its EMA weights, binarized input and validation split.
    recipe: ["train", "--recipe", recipe, "--epochs", "2", "--batch-size", "8", "--seed", "0", "--limit", "2000"]
    for recipe in ("plain", "default")
}
STEPS_PER_EPOCH = math.ceil(1800 / 8)  # 2,000 images less the 10% held out for validation
PROGRESS_FRAME = re.compile(r"epoch (\d+)/\d+ [^\d]*?(\d+)/(\d+) ")
"""The live display's epoch bar on a terminal: 'epoch 2/3 ━━━━━   57/225 ...' gives (epoch, steps done, steps)."""


def process_env() -> dict[str, str]:
    return os.environ | {"OMP_NUM_THREADS": "1", "NO_COLOR": "1", "COLUMNS": "200"}


def run_vae(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VAE_COMMAND), *args], capture_output=True, text=True, env=process_env(), timeout=120, check=False
    )


@pytest.fixture(scope="module")
def uninterrupted_runs(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Path]]:
    """Each recipe's run without a signal, all started in the background at once; call the result with a recipe to
    wait for its checkpoint."""
    outs, processes = {}, {}
    for recipe, run in RECIPE_RUNS.items():
        outs[recipe] = tmp_path_factory.mktemp(f"uninterrupted-{recipe}") / "m.safetensors"
        args = [str(VAE_COMMAND), *run, "--data-dir", str(mnist_dir), "--device", "cpu", "--out", str(outs[recipe])]
        processes[recipe] = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=process_env()
        )

    @functools.cache
    def finished(recipe: str) -> Path:
        output = processes[recipe].communicate(timeout=180)[0]
        assert processes[recipe].returncode == 0, output
        return outs[recipe]

    yield finished
    for process in processes.values():
        process.kill()
        process.wait()


def interrupt_mid_epoch(args: list[str], signum: int, stderr: Path) -> tuple[int, str, tuple[int, int]]:
    """Run `vae` with ``args`` on a pseudo-terminal, so it draws its live progress, and send ``signum`` as soon as a
    frame shows steps done in its second epoch; (exit status, output, (epoch, steps done) of that frame)."""
    controller, terminal = pty.openpty()
    with stderr.open("w") as err:
        process = subprocess.Popen(
            [str(VAE_COMMAND), *args], stdin=subprocess.DEVNULL, stdout=terminal, stderr=err, env=process_env()
        )
    os.close(terminal)
    decoder, output, seen = codecs.getincrementaldecoder("utf-8")(errors="replace"), "", None
    deadline = time.monotonic() + 120
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"no output for too long:\n{output}"
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process closed its terminal
                break
            if not chunk:
                break
            output += decoder.decode(chunk)
            if seen is None:
                frames = [
                    (int(e), int(k))
                    for e, k, n in PROGRESS_FRAME.findall(output)
                    if int(e) >= 2 and 0 < int(k) < int(n)
                ]
                if frames:
                    seen = frames[0]
                    process.send_signal(signum)
        status = process.wait(timeout=60)
    finally:
        process.kill()
        os.close(controller)
    assert seen is not None, f"no progress frame showed a step of the second epoch:\n{output}"
    return status, output, seen


@pytest.mark.parametrize("recipe", RECIPE_RUNS)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_case7_signal_mid_epoch_then_resume_equals_an_uninterrupted_run_bit_for_bit(
    signum: int, recipe: str, uninterrupted_runs: Callable[[str], Path], mnist_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.safetensors"
    args = [*RECIPE_RUNS[recipe], "--data-dir", str(mnist_dir), "--device", "cpu", "--out", str(out)]
    status, stdout, (epoch, steps_seen) = interrupt_mid_epoch(args, signum, tmp_path / "stderr")
    stderr = (tmp_path / "stderr").read_text()
    assert status == cli.EXIT_INTERRUPTED, stdout + stderr
    assert stderr == "" and "Training interrupted" in stdout
    _, metadata = read_tensors(resume_path_for(out), "resume file")
    state = metadata["state"]
    # Stopped after the step the signal found it at: at or after the frame's count, before the epoch's end.
    assert state["epoch"] == epoch - 1 and steps_seen <= state["step"] < STEPS_PER_EPOCH, (
        f"{epoch, steps_seen}, {state}"
    )

    resume_line = next(line for line in stdout.splitlines() if line.startswith("resume with: "))
    command = shlex.split(resume_line.removeprefix("resume with: "))
    assert command[:4] == ["vae", "train", "--resume", str(out)]
    resumed = run_vae(command[1:])
    assert resumed.returncode == 0 and resumed.stderr == "", resumed.stdout + resumed.stderr
    assert f"resuming at epoch {epoch}, step {state['step']}" in resumed.stdout

    whole_run = uninterrupted_runs(recipe)
    for name in (whole_run.name, resume_path_for(whole_run).name):
        whole, split = load_file(whole_run.with_name(name)), load_file(out.with_name(name))
        assert whole.keys() == split.keys()
        unequal = [key for key in whole if not torch.equal(whole[key], split[key])]
        assert not unequal, f"{name}: {unequal}"


# ---- 8. NaN and infinity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("poison", [math.nan, math.inf], ids=["nan", "inf"])
def test_case8_nan_or_inf_loss_stops_with_one_line_and_keeps_the_last_good_checkpoint(
    poison: float, idx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run" / "m.safetensors"
    out.parent.mkdir()
    real_loss, seen = training.vae_loss, {"steps": 0, "before": {}}
    steps_per_epoch = math.ceil(180 / 32)  # 200 fake digits less 10% for validation, batch 32

    def poisoned_loss(*args: torch.Tensor) -> training.LossTerms:
        terms = real_loss(*args)
        if torch.is_grad_enabled():  # a training step, not an evaluation
            seen["steps"] += 1
            if seen["steps"] == steps_per_epoch + 3:  # the third step of epoch 2
                seen["before"] = snapshot(out.parent)
                terms.bce = terms.bce * poison
        return terms

    monkeypatch.setattr(training, "vae_loss", poisoned_loss)
    message = one_line_error(vae(*TRAIN_TINY, "--epochs", 3, "--data-dir", idx_dir, "--out", out))
    assert message.startswith("the loss became NaN or infinite in epoch 2; ")
    assert f"the last good checkpoint (epoch 1) is kept at {out}" in message
    assert seen["before"].keys() == {out.name, resume_path_for(out).name, history_path_for(out).name}
    assert snapshot(out.parent) == seen["before"]
    assert load_checkpoint(out)[1].provenance["epochs"] == 1


# ---- 10. two runs, one --out -----------------------------------------------------------------------------------


def test_case10_two_runs_writing_the_same_out_leave_no_corrupt_or_stray_file(idx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "shared" / "m.safetensors"
    out.parent.mkdir()
    args = [str(VAE_COMMAND), *TRAIN_TINY, "--epochs", "3", "--data-dir", str(idx_dir)]
    runs = [
        subprocess.Popen(
            [*args, "--seed", str(seed), "--out", str(out), "--force"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=process_env(),
        )
        for seed in (1, 2)
    ]
    # The run that takes the lock first trains; the other, if it starts meanwhile, fails at once naming it.
    outcomes = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=120)
        outcomes.append(run.returncode)
        if run.returncode != 0:
            assert run.returncode == 1 and re.fullmatch(r"error: another process \(PID \d+\) is writing .*\n", stderr)
        else:
            assert stderr == "", stdout + stderr
    assert 0 in outcomes
    companions = {resume_path_for(out).name, history_path_for(out).name}
    assert {path.name for path in out.parent.iterdir()} == {out.name, *companions}
    assert load_checkpoint(out)[1].provenance["seed"] in (1, 2)
    read_tensors(resume_path_for(out), "resume file")
    assert load_history(history_path_for(out)).last_epoch == 3
    assert "epoch 4/4" in ok("train", "--resume", out, "--epochs", 4, "--data-dir", idx_dir).stdout
