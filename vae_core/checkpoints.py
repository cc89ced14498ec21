"""Checkpoints: safetensors weights with JSON metadata, a resume companion file, atomic writes.

A checkpoint ``model.safetensors`` holds the weights and, in its metadata, the model config and where the
weights came from. Training state for resuming lives beside it in ``model.resume.safetensors``: tensors and
JSON only, so loading either never unpickles anything.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from vae_core.errors import VaeError
from vae_core.files import atomic_write
from vae_core.metadata import (
    MAX_JSON_CHARS,
    parse_json,
    text,
)
from vae_core.model import VAE, VAEConfig
from vae_core.paths import bundled_checkpoint_path, resume_path_for
from vae_core.recipes import TrainConfig
from vae_core.schemas import PROVENANCE, RESUME_METADATA, check_progress
from vae_core.weights import adam_state, check_tensor, check_weights, expected_shapes, with_prefix

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


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
    """Atomically write tensors (moved to CPU) and JSON-able metadata as one safetensors file."""
    cpu_tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in tensors.items()}
    header = {key: json.dumps(value) for key, value in metadata.items()}
    atomic_write(path, save_safetensors_bytes(cpu_tensors, metadata=header))


def read_tensors(path: Path, what: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a safetensors file written by :func:`write_tensors`; any damage is a VaeError naming the file.

    The header is bounded in size and nesting before it is parsed, and each metadata value is parsed the same way.
    """
    path = Path(path)
    if not path.exists():
        raise VaeError(f"{what} {path} does not exist")
    if not path.is_file():
        raise VaeError(f"{what} {path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise VaeError(f"{what} {path} cannot be read: {error.strerror}") from None
    header_size = int.from_bytes(data[:8], "little")
    if len(data) < 8 or header_size > min(MAX_JSON_CHARS, len(data) - 8):
        raise VaeError(f"{what} {path} is damaged or not a safetensors file (its header size is {header_size:,})")
    try:
        header = parse_json(data[8 : 8 + header_size], "its header", max_string=MAX_JSON_CHARS)
        raw_metadata = header.get("__metadata__", {}) if isinstance(header, dict) else None
        if not isinstance(raw_metadata, dict) or not all(isinstance(value, str) for value in raw_metadata.values()):
            raise VaeError("its metadata is not a table of texts")
        metadata = {key: parse_json(value, f"metadata {key!r}") for key, value in raw_metadata.items()}
        tensors = load_safetensors_bytes(data)
    except VaeError as error:
        raise VaeError(f"{what} {path} is damaged or not a safetensors file: {error}") from None
    except (SafetensorError, ValueError, RuntimeError, TypeError, OverflowError) as error:
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
    """The metadata of a checkpoint, checked for format, version and the types of its provenance."""
    return _parse_info(path, read_tensors(path)[1])


def _parse_info(path: Path, metadata: dict[str, Any]) -> CheckpointInfo:
    if metadata.get("format") != FORMAT_NAME:
        raise VaeError(f"checkpoint {path} is a safetensors file but not a vae-explorer checkpoint")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise VaeError(f"checkpoint {path} is damaged: its format version {version!r} is not a whole number")
    if version > FORMAT_VERSION:
        raise VaeError(
            f"checkpoint {path} has format version {version}; "
            f"this vae-explorer reads up to {FORMAT_VERSION}: upgrade vae-explorer"
        )
    try:
        config = VAEConfig(**metadata["config"])
    except (KeyError, TypeError, VaeError) as error:
        raise VaeError(f"checkpoint {path} has an unreadable model config ({error})") from None
    try:
        model = text(metadata.get("model", "vae"), "its model name")
        provenance = PROVENANCE(metadata.get("provenance", {}), "provenance")
    except VaeError as error:
        raise VaeError(f"checkpoint {path} has unreadable metadata: {error}") from None
    return CheckpointInfo(config=config, model=model, provenance=provenance, format_version=version)


def load_checkpoint(
    path: Path, device: torch.device | str = "cpu", task: str | None = None, plane: bool = True
) -> tuple[VAE, CheckpointInfo]:
    """Rebuild the model from a checkpoint on ``device`` (weights saved on CUDA load on the CPU), in eval mode.

    Every tensor is checked against the model its config describes (names, shapes, float32, finite) first; with a
    ``task``, the model's shape too (see :func:`check_model_shape`), before any weight is loaded.
    """
    from vae_core.plugins import MODELS

    tensors, metadata = read_tensors(path)
    info = _parse_info(path, metadata)
    if task is not None:
        check_model_shape(path, info.config, task, plane)
    build = MODELS.get(info.model)
    check_weights(f"checkpoint {path}", tensors, expected_shapes(f"checkpoint {path}", build, info.config))
    model = build(info.config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise VaeError(f"checkpoint {path} does not fit its model: {_first_line(error)}") from None
    return model.to(device).eval(), info


def check_model_shape(path: Path, config: VAEConfig, task: str, plane: bool = True) -> None:
    """Refuse a checkpoint whose model cannot do ``task``: every task needs 28×28 = 784 inputs, and those that walk
    the latent plane (``plane``) a 2-D latent space."""
    from vae_core.model import PIXELS

    if config.input_dim != PIXELS or (plane and config.latent_dim != 2):
        needs = f"{PIXELS} inputs (28×28 images)" + (" and a 2-D latent space" if plane else "")
        raise VaeError(
            f"checkpoint {path} has {config.input_dim} inputs and a {config.latent_dim}-D latent space; "
            f"{task} needs {needs}"
        )


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
    """Read the resume file beside ``checkpoint``, every value checked against the model and recipe it describes."""
    path = resume_path_for(Path(checkpoint))
    if not path.exists():
        raise VaeError(f"no training state to resume beside {checkpoint} (looked for {path})")
    tensors, meta = read_tensors(path, "resume file")
    if meta.get("format") != RESUME_FORMAT_NAME or meta.get("format_version") != RESUME_FORMAT_VERSION:
        raise VaeError(f"resume file {path} is not a vae-explorer resume file this version can read")
    what = f"resume file {path}"
    try:
        meta = RESUME_METADATA(meta, "its metadata")
        config = TrainConfig(**meta["train_config"])
        model_config = VAEConfig(**meta["model_config"])
        progress, train_size = meta["state"], meta["train_size"]
        check_progress(progress, config, train_size)
    except (TypeError, VaeError) as error:
        raise VaeError(f"{what} is damaged or from another version: {error}") from None
    from vae_core.plugins import MODELS

    shapes = expected_shapes(what, MODELS.get("vae"), model_config)
    kept = [name for name in WEIGHT_SETS if name != "ema" or config.ema_decay > 0]
    weights = {name: with_prefix(tensors, f"{name}.") for name in kept}
    for name, state in weights.items():
        check_weights(f"{what} ({name} weights)", state, shapes)
    optimizer = adam_state(what, tensors, list(shapes.values()))
    known = {f"{name}.{key}" for name in kept for key in shapes} | {"noise_rng", "epoch_sums"}
    unknown = sorted(key for key in tensors.keys() - known if not key.startswith("adam."))
    if unknown:
        raise VaeError(f"{what} is damaged: it holds unknown tensors {', '.join(unknown[:3])}")
    if "noise_rng" not in tensors or "epoch_sums" not in tensors:
        raise VaeError(f"{what} is damaged: it lacks the noise generator's state or the epoch's sums")
    noise_rng = tensors["noise_rng"]
    if noise_rng.dtype != torch.uint8 or noise_rng.dim() != 1 or len(noise_rng) > 1 << 16:
        raise VaeError(f"{what} is damaged: the noise generator's state is not a short list of bytes")
    check_tensor(what, "epoch_sums", tensors["epoch_sums"], (2,))
    return ResumeState(
        config=config,
        model_config=model_config,
        train_size=train_size,
        provenance=meta.get("provenance", {}),
        progress=progress,
        weights=weights,
        optimizer=optimizer,
        noise_rng=noise_rng,
        epoch_sums=tensors["epoch_sums"],
    )


def _first_line(error: BaseException, limit: int = 240) -> str:
    """An exception's text folded onto one line (and shortened), for one-line error messages."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
