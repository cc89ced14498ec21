"""What the explorer's parts share about the latent plane and its pictures."""

from __future__ import annotations

Point = tuple[float, float]
"""A point (x, y) of the 2-D latent plane."""
SIDE = 28
"""Pixels on a side of one digit (the MNIST format)."""
