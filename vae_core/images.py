"""Pictures from a trained VAE: decoded points, latent grids, reconstructions, interpolations, latent maps, PNG.

Images are numpy arrays: grayscale float in [0, 1] of shape [H, W], or RGB uint8 of shape [H, W, 3].
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from vae_core.checkpoints import atomic_write
from vae_core.errors import VaeError
from vae_core.model import VAE, as_float_batch
from vae_core.picture_defaults import INTERPOLATION_STEPS

SIDE = 28
DIGIT_COLORS: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
"""One colour per digit label 0-9 (matplotlib's tab10), shared by the PNG map and the explorer's legend."""
MAX_GRID_SIDE = 100
MAX_LATENT_COORDINATE = 1e4
"""The prior is N(0, I): a coordinate beyond this is a typo, and float32 arithmetic on it overflows."""
MAX_INTERPOLATION_STEPS = 1000
"""Digits along a walk unless told otherwise: `vae interpolate` and the explorer's walk GIF share it."""
GIF_FRAME_MS = 80
MAX_PICTURE_PIXELS = 2**28
"""The most pixels one picture, or all frames of an animation, may hold: a 16,384² square, 268 million."""


def _device(model: VAE) -> torch.device:
    return next(model.parameters()).device


def check_latent_points(points: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """The points as float64, or a VaeError naming the first coordinate that is not finite or out of range."""
    values = np.asarray(points, dtype=np.float64)
    in_range = np.abs(values) <= MAX_LATENT_COORDINATE  # False for NaN too
    if not in_range.all():
        raise VaeError(
            f"latent coordinates must be finite numbers within ±{MAX_LATENT_COORDINATE:g}, got {values[~in_range][0]:g}"
        )
    return values


@torch.no_grad()
def decode_points(model: VAE, points: np.ndarray) -> np.ndarray:
    """Latent points [N, latent_dim] → decoded digits [N, 28, 28] in [0, 1], in one batched forward pass."""
    points = check_latent_points(points).astype(np.float32).reshape(-1, model.config.latent_dim)
    z = torch.from_numpy(points).to(_device(model))
    return model.decode(z).cpu().numpy().reshape(-1, SIDE, SIDE)


@torch.no_grad()
def encode_means(model: VAE, images: torch.Tensor, batch_size: int = 5000) -> np.ndarray:
    """uint8 images [N, 28, 28] → latent means [N, latent_dim] (the encoder's mu; no sampling)."""
    device = _device(model)
    means = [
        model.encode(as_float_batch(images[start : start + batch_size].to(device)))[0]
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(means).cpu().numpy() if means else np.zeros((0, model.config.latent_dim), np.float32)


def grid_points(n: int = 15, extent: float = 2.0) -> np.ndarray:
    """The n×n points over [-extent, extent]², row by row from the top, y pointing up (n=1: the centre)."""
    if not 1 <= n <= MAX_GRID_SIDE:
        raise VaeError(f"grid size must be between 1 and {MAX_GRID_SIDE}, got {n}")
    if not 0 < extent <= MAX_LATENT_COORDINATE:
        raise VaeError(f"grid range must be a positive number up to {MAX_LATENT_COORDINATE:g}, got {extent:g}")
    # One digit is the centre of the range, not its corner (linspace would put it at -extent).
    axis = np.linspace(-extent, extent, n, dtype=np.float32) if n > 1 else np.zeros(1, np.float32)
    ys, xs = np.meshgrid(axis[::-1], axis, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def check_picture_size(width: int, height: int, frames: int = 1) -> None:
    """Refuse a picture too large to hold in memory before any memory is spent on it."""
    if width * height * frames > MAX_PICTURE_PIXELS:
        what = f"{frames:,} frames of {width:,}×{height:,}" if frames > 1 else f"a {width:,}×{height:,} picture"
        raise VaeError(
            f"{what} would be over {MAX_PICTURE_PIXELS:,} pixels: choose a smaller --scale, --n, --steps or --size"
        )


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """Images [N, h, w] → one image of ``columns`` per row (the last row padded with black)."""
    count, height, width = images.shape
    rows = -(-count // columns)
    padded = np.zeros((rows * columns, height, width), dtype=images.dtype)
    padded[:count] = images
    return padded.reshape(rows, columns, height, width).transpose(0, 2, 1, 3).reshape(rows * height, columns * width)


def latent_grid(model: VAE, n: int = 15, extent: float = 2.0) -> np.ndarray:
    """The n×n grid of digits decoded over [-extent, extent]², as one [28n, 28n] image."""
    return tile(decode_points(model, grid_points(n, extent)), n)


@torch.no_grad()
def reconstruct(model: VAE, images: torch.Tensor) -> np.ndarray:
    """uint8 images [N, 28, 28] → their reconstructions [N, 28, 28], decoded from the latent means."""
    return decode_points(model, encode_means(model, images))


def reconstruction_rows(model: VAE, images: torch.Tensor) -> np.ndarray:
    """Originals in the top row, their reconstructions below: one [56, 28N] image."""
    originals = images.numpy().astype(np.float32) / 255
    return np.concatenate([tile(originals, len(originals)), tile(reconstruct(model, images), len(originals))])


def interpolation_points(
    start: tuple[float, float], end: tuple[float, float], steps: int = INTERPOLATION_STEPS
) -> np.ndarray:
    """``steps`` evenly spaced points on the segment from start to end, both included."""
    if steps < 2:
        raise VaeError(f"an interpolation needs at least 2 steps, got {steps}")
    if steps > MAX_INTERPOLATION_STEPS:
        raise VaeError(f"an interpolation takes at most {MAX_INTERPOLATION_STEPS:,} steps, got {steps:,}")
    start, end = check_latent_points(start).astype(np.float32), check_latent_points(end).astype(np.float32)
    fractions = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return (1 - fractions) * start + fractions * end


def interpolation_frames(
    model: VAE, start: tuple[float, float], end: tuple[float, float], steps: int = INTERPOLATION_STEPS
) -> np.ndarray:
    """The digits decoded along the segment: [steps, 28, 28]."""
    return decode_points(model, interpolation_points(start, end, steps))


def map_ticks(extent: float, most_per_side: int = 4) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) inside [-extent, extent], zero included."""
    power = 10.0 ** np.floor(np.log10(extent / most_per_side))
    step = next(power * m for m in (1, 2, 2.5, 5, 10) if extent / (power * m) <= most_per_side)
    count = int(np.floor(extent / step + 1e-9))
    return [float(round(k * step, 10)) for k in range(-count, count + 1)]


def latent_map(
    means: np.ndarray, labels: np.ndarray, extent: float | None = None, size: int = 640, dot: int = 2
) -> np.ndarray:
    """A label-coloured scatter of latent means over [-extent, extent]² with round ticks and a legend, as RGB.

    ``extent`` None: a whole number covering 99.5% of the means (what `vae export-map` draws); the explorer passes
    the range on screen. Margins are sized to the tick labels, so none is clipped or overlaps another.
    """
    if extent is None:
        extent = float(np.ceil(np.percentile(np.abs(means), 99.5))) if len(means) else 3.0
    legend_width = 70
    check_picture_size(size + legend_width, size)
    image = Image.new("RGB", (size + legend_width, size), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    ticks = map_ticks(extent)
    texts = [f"{tick:g}" for tick in ticks]
    label_width = max(draw.textlength(text, font=font) for text in texts)
    left, top, bottom = int(28 + label_width), 20, 40
    plot = size - max(left, bottom) - top

    def to_pixel(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return left + (x + extent) / (2 * extent) * plot, top + (extent - y) / (2 * extent) * plot

    draw.rectangle([left, top, left + plot, top + plot], outline="black")
    for tick, text in zip(ticks, texts, strict=True):
        px, py = to_pixel(np.float32(tick), np.float32(tick))
        draw.line([px, top + plot, px, top + plot + 4], fill="black")
        draw.text((px, top + plot + 6), text, fill="black", font=font, anchor="mt")
        draw.line([left - 4, py, left, py], fill="black")
        draw.text((left - 6, py), text, fill="black", font=font, anchor="rm")
    draw.text((left + plot / 2, top + plot + 28), "z1", fill="black", font=font, anchor="mm")
    draw.text((10, top + plot / 2), "z2", fill="black", font=font, anchor="mm")
    xs, ys = to_pixel(means[:, 0], means[:, 1]) if len(means) else (np.zeros(0), np.zeros(0))
    inside = (xs >= left) & (xs <= left + plot) & (ys >= top) & (ys <= top + plot)
    for px, py, label in zip(xs[inside], ys[inside], np.asarray(labels)[inside], strict=True):
        draw.ellipse([px - dot, py - dot, px + dot, py + dot], fill=DIGIT_COLORS[int(label) % 10])
    for digit, color in enumerate(DIGIT_COLORS):
        legend_top = top + digit * 18
        draw.rectangle([size + 10, legend_top, size + 22, legend_top + 12], fill=color)
        draw.text((size + 30, legend_top + 6), str(digit), fill="black", font=font, anchor="lm")
    return np.asarray(image)


def to_pil(image: np.ndarray, scale: int = 1) -> Image.Image:
    """An image array (grayscale float in [0, 1], or uint8 gray/RGB) → a Pillow image, enlarged ``scale``×."""
    if scale < 1:
        raise VaeError(f"scale must be at least 1, got {scale}")
    check_picture_size(image.shape[1] * scale, image.shape[0] * scale)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    picture = Image.fromarray(image)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    return picture


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    """An image array as the bytes of a PNG file (what :func:`save_png` writes, or a browser download holds)."""
    buffer = io.BytesIO()
    to_pil(image, scale).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(image: np.ndarray, path: Path, scale: int = 1) -> Path:
    """Write an image array as a PNG, atomically; returns the path written."""
    atomic_write(Path(path), png_bytes(image, scale))
    return Path(path)


def gif_bytes(frames: np.ndarray, scale: int = 1, frame_ms: int = GIF_FRAME_MS) -> bytes:
    """Frames [N, H, W] as the bytes of a looping animated GIF: `vae interpolate … OUT.gif` and the explorer's walk."""
    check_picture_size(frames.shape[2] * scale, frames.shape[1] * scale, len(frames))
    pictures = [to_pil(frame, scale).convert("P") for frame in frames]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0)
    return buffer.getvalue()


def save_gif(frames: np.ndarray, path: Path, scale: int = 1, frame_ms: int = GIF_FRAME_MS) -> Path:
    """Write frames [N, H, W] as a looping animated GIF, atomically."""
    atomic_write(Path(path), gif_bytes(frames, scale, frame_ms))
    return Path(path)
