"""Checkpoints: safetensors weights with JSON metadata, a resume companion file, atomic writes.

A checkpoint ``model.safetensors`` holds the weights and, in its metadata, the model config and where the
weights came from. Training state for resuming lives beside it in ``model.resume.safetensors``: tensors and
JSON only, so loading either never unpickles anything.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from vae_core.errors import VaeError
from vae_core.model import VAE, VAEConfig

FORMAT_NAME = "vae-explorer"
FORMAT_VERSION = 1


@dataclass
class CheckpointInfo:
    """What a checkpoint says about itself: the model to rebuild and the provenance of its weights."""

    config: VAEConfig = field(default_factory=VAEConfig)
    model: str = "vae"
    provenance: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


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


def _first_line(error: BaseException, limit: int = 240) -> str:
    """An exception's text folded onto one line (and shortened), for one-line error messages."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
