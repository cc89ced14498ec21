"""Turn "auto", "cpu", "cuda", "cuda:N" or "mps" into a torch.device, or say clearly why not."""

from __future__ import annotations

import torch

from vae_core.errors import VaeError


def available_devices() -> list[str]:
    """Names of the devices this machine can train on, best first."""
    names = [f"cuda:{index}" for index in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if torch.backends.mps.is_available():
        names.append("mps")
    names.append("cpu")
    return names


def resolve_device(name: str = "auto") -> torch.device:
    """The torch.device for a user's choice; ``auto`` prefers CUDA, then MPS, then the CPU."""
    choice = name.strip().lower()
    available = available_devices()
    if choice == "auto":
        return torch.device(available[0])
    if choice == "cuda":
        choice = "cuda:0"
    if choice in available:
        return torch.device(choice)
    known = choice == "cpu" or choice == "mps" or (choice.startswith("cuda:") and choice[5:].isdigit())
    if not known:
        raise VaeError(
            f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps (available here: {', '.join(available)})"
        )
    raise VaeError(f"device {name!r} is not available here; available: {', '.join(available)}")
