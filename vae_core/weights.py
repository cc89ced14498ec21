"""Tensors read from a file, checked against the model they claim to belong to: names, shapes, dtype, values.

A checkpoint's weights and a resume file's weights and Adam state all pass through here before any of them reaches
``load_state_dict`` or an optimizer, so a damaged or hostile file is a VaeError, never a crash.
"""

from __future__ import annotations

from typing import Any

import torch

from vae_core.errors import VaeError
from vae_core.model import VAEConfig


def expected_shapes(what: str, build: Any, config: VAEConfig) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes of the model ``config`` describes, found on a storage-less model (no memory)."""
    try:
        with torch.device("meta"):
            return {name: tuple(tensor.shape) for name, tensor in build(config).state_dict().items()}
    except (RuntimeError, ValueError, OverflowError) as error:  # sizes whose product overflows, say
        raise VaeError(f"{what} has a model config that describes no buildable network ({error})") from None


def check_weights(what: str, tensors: dict[str, torch.Tensor], shapes: dict[str, tuple[int, ...]]) -> None:
    """Names, shapes, dtype (float32) and finiteness of a set of weights, against the shapes the model needs."""
    missing, unexpected = sorted(shapes.keys() - tensors.keys()), sorted(tensors.keys() - shapes.keys())
    if missing or unexpected:
        parts = [f"lacks {', '.join(missing[:3])}"] if missing else []
        parts += [f"has unknown {', '.join(unexpected[:3])}"] if unexpected else []
        raise VaeError(f"{what} does not fit its model: it {' and '.join(parts)}")
    for name, shape in shapes.items():
        check_tensor(what, name, tensors[name], shape)


def check_tensor(what: str, name: str, tensor: torch.Tensor, shape: tuple[int, ...]) -> None:
    """One float32 tensor of ``shape`` holding finite numbers only."""
    if tuple(tensor.shape) != shape:
        raise VaeError(f"{what} does not fit its model: {name} has shape {list(tensor.shape)}, not {list(shape)}")
    if tensor.dtype != torch.float32:
        raise VaeError(f"{what} is damaged: {name} holds {str(tensor.dtype).removeprefix('torch.')}, not float32")
    if not torch.isfinite(tensor).all():
        raise VaeError(f"{what} is damaged: {name} holds NaN or infinite values")


ADAM_STATE = ("exp_avg", "exp_avg_sq", "step")


def adam_state(
    what: str, tensors: dict[str, torch.Tensor], shapes: list[tuple[int, ...]]
) -> dict[int, dict[str, torch.Tensor]]:
    """Adam's per-parameter state from the ``adam.<index>.<name>`` tensors, each checked against its parameter.

    This is what keeps a damaged file from crashing the interpreter: the fused Adam step writes a full-size update
    into whatever buffer it is given, with no check of its own.
    """
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in with_prefix(tensors, "adam.").items():
        index, _, name = key.partition(".")
        if not (index.isdigit() and int(index) < len(shapes) and name in ADAM_STATE):
            raise VaeError(f"{what} is damaged: adam.{key} is not an Adam state of this model")
        state.setdefault(int(index), {})[name] = value
    for index, param_state in state.items():
        if param_state.keys() != set(ADAM_STATE):
            raise VaeError(f"{what} is damaged: Adam's state of parameter {index} is incomplete")
        for name in ("exp_avg", "exp_avg_sq"):
            check_tensor(what, f"adam.{index}.{name}", param_state[name], shapes[index])
        check_tensor(what, f"adam.{index}.step", param_state["step"], ())
        if param_state["step"].item() < 0 or bool((param_state["exp_avg_sq"] < 0).any()):
            raise VaeError(f"{what} is damaged: Adam's state of parameter {index} holds negative values")
    return state


def with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with ``prefix``, by the rest of their names."""
    return {key.removeprefix(prefix): value for key, value in tensors.items() if key.startswith(prefix)}
