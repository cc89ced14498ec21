"""The sizes a picture gets when the user names none, shared by the CLI and the explorer.

Torch-free, so the CLI's help can quote them without importing torch.
"""

from __future__ import annotations

import math

VISIBLE_PIXELS = 224
"""A picture meant to be looked at is enlarged until its shorter side reaches this many pixels."""
INTERPOLATION_STEPS = 10
"""Digits along a walk from A to B, both ends included (`vae interpolate` and the explorer's walk GIF)."""


def visible_scale(shape: tuple[int, ...], scale: int | None = None) -> int:
    """The scale asked for, or by default the smallest whole one that makes the shorter side VISIBLE_PIXELS."""
    return scale if scale is not None else max(1, math.ceil(VISIBLE_PIXELS / min(shape[:2])))
