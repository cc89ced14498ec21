"""Checkpoints: safetensors weights with JSON metadata, a resume companion file, atomic writes.

A checkpoint ``model.safetensors`` holds the weights and, in its metadata, the model config and where the
weights came from. Training state for resuming lives beside it in ``model.resume.safetensors``: tensors and
JSON only, so loading either never unpickles anything.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from vae_core.errors import VaeError
from vae_core.model import VAE, VAEConfig
from vae_core.paths import bundled_checkpoint_path, resume_path_for
from vae_core.recipes import TrainConfig

FORMAT_NAME = "vae-explorer"
FORMAT_VERSION = 1
RESUME_FORMAT_NAME = "vae-explorer-resume"
RESUME_FORMAT_VERSION = 1
WEIGHT_SETS = ("model", "ema", "best")
"""The weights a resume file keeps: the trained ones, their running average (where the recipe keeps one), the best."""


@dataclass
class CheckpointInfo:
    """What a checkpoint says about itself: the model to rebuild and the provenance of its weights."""

    config: VAEConfig = field(default_factory=VAEConfig)
    model: str = "vae"
    provenance: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


@dataclass
class ResumeState:
    """What a stopped run needs to carry on bit for bit, as its resume file beside the checkpoint holds it."""

    config: TrainConfig
    model_config: VAEConfig
    train_size: int
    """How many training images the run was started with: a resume must use the same dataset."""
    provenance: dict[str, Any]
    progress: dict[str, Any]
    """The trainer's counters and history of finished epochs, as JSON; ``epoch``, ``step`` and ``best_epoch`` are
    checked to be whole numbers here, the rest is read by the trainer."""
    weights: dict[str, dict[str, torch.Tensor]]
    """State dicts by name (see WEIGHT_SETS); "ema" only where the recipe averages the weights."""
    optimizer: dict[int, dict[str, torch.Tensor]]
    """Adam's state tensors by parameter index."""
    noise_rng: torch.Tensor
    epoch_sums: torch.Tensor


def checkpoint_or_bundled(checkpoint: Path | None) -> Path:
    """The checkpoint a person named, or the bundled one when they named none."""
    return Path(checkpoint) if checkpoint is not None else bundled_checkpoint_path()


def library_versions() -> dict[str, str]:
    """The versions that made a checkpoint, for its provenance."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("vae-explorer")
    except PackageNotFoundError:
        ours = "source"
    return {
        "vae-explorer": ours,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes so that ``path`` holds either its old content or all of the new, never a mix."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise VaeError(f"cannot write {path}: directory {directory} does not exist")
    temp_name = None
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{path.name}.", suffix=".tmp", delete=False) as temp:
            temp_name = temp.name
            # mkstemp makes the file private (0600); give it the mode a plain open() would (0666 less the umask).
            os.chmod(temp_name, 0o666 & ~_umask())
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
        temp_name = None
        _fsync_directory(directory)
    except OSError as error:
        raise VaeError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)


@functools.cache
def _umask() -> int:
    """The process's umask. Reading it means setting it, which is process-wide: do it once, not on every write."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
    """Atomically write tensors (moved to CPU) and JSON-able metadata as one safetensors file."""
    cpu_tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in tensors.items()}
    header = {key: json.dumps(value) for key, value in metadata.items()}
    atomic_write(path, save_safetensors_bytes(cpu_tensors, metadata=header))


def read_tensors(path: Path, what: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a safetensors file written by :func:`write_tensors`; any damage is a VaeError naming the file."""
    path = Path(path)
    if not path.exists():
        raise VaeError(f"{what} {path} does not exist")
    if not path.is_file():
        raise VaeError(f"{what} {path} is not a file")
    try:
        data = path.read_bytes()
        tensors = load_safetensors_bytes(data)
        header_size = int.from_bytes(data[:8], "little")
        raw_metadata = json.loads(data[8 : 8 + header_size]).get("__metadata__", {})
        metadata = {key: json.loads(value) for key, value in raw_metadata.items()}
    except (SafetensorError, ValueError, OSError, UnicodeDecodeError) as error:
        raise VaeError(f"{what} {path} is damaged or not a safetensors file ({_first_line(error)})") from None
    return tensors, metadata


def save_checkpoint(path: Path, model: VAE, provenance: dict[str, Any] | None = None) -> None:
    """Write a model's weights and config with its provenance (dataset, recipe, test loss, versions...)."""
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model": "vae",
        "config": model.config.to_dict(),
        "provenance": provenance or {},
    }
    write_tensors(path, model.state_dict(), metadata)


def read_checkpoint_info(path: Path) -> CheckpointInfo:
    """The metadata of a checkpoint, checked for format and version."""
    return _parse_info(path, read_tensors(path)[1])


def _parse_info(path: Path, metadata: dict[str, Any]) -> CheckpointInfo:
    if metadata.get("format") != FORMAT_NAME:
        raise VaeError(f"checkpoint {path} is a safetensors file but not a vae-explorer checkpoint")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise VaeError(
            f"checkpoint {path} has format version {version}; "
            f"this vae-explorer reads up to {FORMAT_VERSION}: upgrade vae-explorer"
        )
    try:
        config = VAEConfig(**metadata["config"])
    except (KeyError, TypeError, VaeError) as error:
        raise VaeError(f"checkpoint {path} has an unreadable model config ({error})") from None
    if not isinstance(metadata.get("model", "vae"), str) or not isinstance(metadata.get("provenance", {}), dict):
        raise VaeError(f"checkpoint {path} has unreadable metadata (its model name or provenance)")
    return CheckpointInfo(
        config=config,
        model=metadata.get("model", "vae"),
        provenance=metadata.get("provenance", {}),
        format_version=version,
    )


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> tuple[VAE, CheckpointInfo]:
    """Rebuild the model from a checkpoint on ``device`` (weights saved on CUDA load on the CPU), in eval mode."""
    from vae_core.plugins import MODELS

    tensors, metadata = read_tensors(path)
    info = _parse_info(path, metadata)
    build = MODELS.get(info.model)
    try:
        # The weights must fit a storage-less model first, so a config that promises a huge network allocates nothing.
        with torch.device("meta"):
            build(info.config).load_state_dict(tensors, strict=True, assign=True)
        model = build(info.config)
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise VaeError(f"checkpoint {path} does not fit its model: {_first_line(error)}") from None
    return model.to(device).eval(), info


def save_resume_state(checkpoint: Path, state: ResumeState) -> Path:
    """Write the resume file beside ``checkpoint`` atomically; its path."""
    path = resume_path_for(Path(checkpoint))
    tensors = {f"{name}.{key}": value for name, weights in state.weights.items() for key, value in weights.items()}
    for index, param_state in state.optimizer.items():
        tensors |= {f"adam.{index}.{key}": value for key, value in param_state.items()}
    tensors |= {"noise_rng": state.noise_rng, "epoch_sums": state.epoch_sums}
    metadata = {
        "format": RESUME_FORMAT_NAME,
        "format_version": RESUME_FORMAT_VERSION,
        "train_config": state.config.to_dict(),
        "model_config": state.model_config.to_dict(),
        "state": state.progress,
        "train_size": state.train_size,
        "provenance": state.provenance,
    }
    write_tensors(path, tensors, metadata)
    return path


def load_resume_state(checkpoint: Path) -> ResumeState:
    """Read the resume file beside ``checkpoint``, checked for format, types and completeness."""
    path = resume_path_for(Path(checkpoint))
    if not path.exists():
        raise VaeError(f"no training state to resume beside {checkpoint} (looked for {path})")
    tensors, meta = read_tensors(path, "resume file")
    if meta.get("format") != RESUME_FORMAT_NAME or meta.get("format_version") != RESUME_FORMAT_VERSION:
        raise VaeError(f"resume file {path} is not a vae-explorer resume file this version can read")
    try:
        progress, train_size = dict(meta["state"]), meta["train_size"]
        counts = (train_size, progress["epoch"], progress["step"], progress["best_epoch"])
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in counts):
            raise ValueError("its image, epoch and step counts are not whole numbers")
        return ResumeState(
            config=TrainConfig(**meta["train_config"]),
            model_config=VAEConfig(**meta["model_config"]),
            train_size=train_size,
            provenance=dict(meta.get("provenance", {})),
            progress=progress,
            weights={
                name: {
                    key.removeprefix(f"{name}."): value for key, value in tensors.items() if key.startswith(f"{name}.")
                }
                for name in WEIGHT_SETS
                if any(key.startswith(f"{name}.") for key in tensors)
            },
            optimizer=_optimizer_state(tensors),
            noise_rng=tensors["noise_rng"],
            epoch_sums=tensors["epoch_sums"],
        )
    except KeyError as error:
        raise VaeError(f"resume file {path} is damaged or from another version: it lacks {error}") from None
    except (TypeError, ValueError, VaeError) as error:
        raise VaeError(f"resume file {path} is damaged or from another version: {error}") from None


def _with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {key.removeprefix(prefix): value for key, value in tensors.items() if key.startswith(prefix)}


def _optimizer_state(tensors: dict[str, torch.Tensor]) -> dict[int, dict[str, torch.Tensor]]:
    """Adam's per-parameter state from the resume file's ``adam.<index>.<name>`` tensors."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("adam."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    return state


def _first_line(error: BaseException, limit: int = 240) -> str:
    """An exception's text folded onto one line (and shortened), for one-line error messages."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
