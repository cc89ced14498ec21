"""The fuzzer's child process: loads each file it is sent with vae-explorer's loaders, uses what loaded, and answers.

Run as ``python -m tests.fuzz.worker`` (or by path). Requests arrive one JSON object per line on stdin:
``{"kind": "checkpoint" | "resume" | "atlas" | "idx", "path": ...}``; each answer is one JSON line on the real stdout:
``{"outcome": "ok"}``, ``{"outcome": "error", "message": ...}`` for a VaeError, or ``{"outcome": "crash", ...}`` for
anything else (an exception other than VaeError, a RuntimeWarning). A segfault or a hang shows in the parent as a
dead or silent child. The address space is capped, so an allocation far beyond a file's size fails here.
"""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

import cli_views
from vae_core.atlas import load_atlas
from vae_core.checkpoints import check_model_shape, load_checkpoint, read_checkpoint_info
from vae_core.data import MNIST, ImageSet
from vae_core.errors import VaeError
from vae_core.events import StopFlag
from vae_core.images import decode_points, encode_means
from vae_core.model import VAE, VAEConfig
from vae_core.paths import resume_path_for
from vae_core.training import resume

HEADROOM_BYTES = 1536 << 20
"""How much address space the worker may add to what it holds after its imports: ~100 times the largest seed file."""
STEPS_PER_RESUME = 3


class StopAfterSteps(StopFlag):
    """Ends a resumed run after a few steps, however many epochs the (possibly mutated) recipe asks for."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.left = steps

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0 or super().is_set()


def fake_train_set(count: int) -> ImageSet:
    """The training images the seed resume state was made with (tests/fuzz/seeds.py makes the same ones)."""
    rng = np.random.default_rng(count)
    images = torch.from_numpy((rng.random((count, 28, 28)) ** 4 * 255).astype(np.uint8))
    return ImageSet(images, torch.arange(count) % 10, "mnist", "train", "fuzz")


def use_checkpoint(path: Path) -> None:
    model, info = load_checkpoint(path)
    Console(file=io.StringIO(), width=100).print(cli_views.checkpoint_table(path, read_checkpoint_info(path), {}))
    check_model_shape(path, info.config, "the fuzzer")
    digit = decode_points(model, np.zeros((1, 2)))
    means = encode_means(model, torch.zeros(2, 28, 28, dtype=torch.uint8))
    assert np.isfinite(digit).all() and digit.shape == (1, 28, 28) and means.shape == (2, 2)


def use_resume(path: Path, train_size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "m.safetensors"
        shutil.copyfile(path, resume_path_for(checkpoint))
        resume(checkpoint, fake_train_set(train_size), None, "cpu", stop=StopAfterSteps(STEPS_PER_RESUME))


def use_atlas(path: Path) -> None:
    atlas = load_atlas(path)
    atlas.nearest((0.0, 0.0))
    atlas.for_model(VAE(VAEConfig(hidden_dim=16)).eval())


def use_idx(path: Path) -> None:
    """``path`` is a folder holding a test split, one file of it mutated."""
    test_set = MNIST.load("test", path, download=False)
    assert len(test_set) > 0 and int(test_set.labels.max()) <= 9


def answer(request: dict[str, Any]) -> dict[str, Any]:
    path = Path(request["path"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if request["kind"] == "checkpoint":
                use_checkpoint(path)
            elif request["kind"] == "resume":
                use_resume(path, request["train_size"])
            elif request["kind"] == "atlas":
                use_atlas(path)
            else:
                use_idx(path)
        except VaeError as error:
            return {"outcome": "error", "message": str(error)}
        except Exception:
            return {"outcome": "crash", "traceback": traceback.format_exc()}
    runtime = [str(warning.message) for warning in caught if issubclass(warning.category, RuntimeWarning)]
    return {"outcome": "crash", "traceback": f"RuntimeWarning: {runtime}"} if runtime else {"outcome": "ok"}


def cap_address_space() -> None:
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def main() -> None:
    torch.set_num_threads(1)
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # whatever a library prints must not mix with the answers
    cap_address_space()
    print(json.dumps({"outcome": "ready"}), file=protocol)
    for line in sys.stdin:
        print(json.dumps(answer(json.loads(line))), file=protocol)


if __name__ == "__main__":
    main()
