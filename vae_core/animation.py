"""The latent map forming during training: one frame per recorded epoch of a history, as an animated GIF.

Every frame is ``images.latent_map`` over the same axis range, captioned with its epoch and loss, and mapped onto one
fixed palette (the digit colours and grays), so colours neither dither nor shift from frame to frame.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vae_core.checkpoints import atomic_write
from vae_core.errors import VaeError
from vae_core.events import EpochEnded
from vae_core.history import TrainingHistory
from vae_core.images import DIGIT_COLORS, check_picture_size, latent_map

FRAME_MS = 250
LAST_FRAME_MS = 2000
"""The last frame, the trained map, stays up longer before the loop starts again."""
MIN_FRAME_MS, MAX_FRAME_MS = 20, 10_000
CAPTION_SIZE = 16
GRAYS = tuple((level, level, level) for level in range(0, 256, 17))
"""Sixteen grays, for the axes and the anti-aliased text."""


def animation_extent(history: TrainingHistory) -> float:
    """One axis range for every frame: the widest epoch's 99.5th percentile of |mean|, rounded up to a whole number."""
    widest = max(float(np.percentile(np.abs(means.astype(np.float32)), 99.5)) for means in history.means)
    return float(max(1, math.ceil(widest)))


def frame_caption(record: EpochEnded, epochs_planned: int) -> str:
    """ "epoch 12/150   test loss 146.84 nats": the test loss where measured, else validation, else training."""
    measured = (("test", record.test), ("val", record.val), ("train", record.train))
    split, loss = next((name, loss) for name, loss in measured if loss is not None)
    return f"epoch {record.epoch}/{epochs_planned}   {split} loss {loss.total:.2f} nats"


def map_frames(history: TrainingHistory, size: int = 640) -> Iterator[np.ndarray]:
    """The captioned map of every recorded epoch, as RGB arrays of one size over one axis range."""
    if history.means.shape[2] != 2:
        raise VaeError(f"the map needs a 2-D latent space; this history's is {history.means.shape[2]}-D")
    extent = animation_extent(history)
    font = ImageFont.load_default(size=CAPTION_SIZE)
    for record, means in zip(history.records, history.means, strict=True):
        frame = Image.fromarray(latent_map(means.astype(np.float32), history.labels, extent=extent, size=size))
        # latent_map leaves a 40-pixel margin above the plot: the caption goes there, centred over the plot.
        ImageDraw.Draw(frame).text(
            (size / 2, 20), frame_caption(record, history.epochs_planned), fill="black", font=font, anchor="mm"
        )
        yield np.asarray(frame)


def save_map_animation(history: TrainingHistory, path: Path, size: int = 640, frame_ms: int = FRAME_MS) -> int:
    """Write the map at every recorded epoch as a looping GIF, atomically; returns the number of frames."""
    if not MIN_FRAME_MS <= frame_ms <= MAX_FRAME_MS:
        raise VaeError(f"a frame lasts {MIN_FRAME_MS} to {MAX_FRAME_MS:,} ms, got {frame_ms}")
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for color in (*GRAYS, *DIGIT_COLORS) for channel in color])
    pictures = []
    for frame in map_frames(history, size):
        if not pictures:
            check_picture_size(frame.shape[1], frame.shape[0], len(history.records))
        pictures.append(Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE))
    durations = [frame_ms] * (len(pictures) - 1) + [max(frame_ms, LAST_FRAME_MS)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0)
    atomic_write(Path(path), buffer.getvalue())
    return len(pictures)
