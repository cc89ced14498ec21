"""Pictures → Sixel data, fast for what the explorer draws: few colours, blown up by whole factors.

A Sixel image is drawn in bands six pixel rows high. Each band is painted one colour at a time: select a register
(``#n``), then one character per column whose six bits say which of the band's rows take that colour (``?`` + bits),
``!N`` repeating a character N times, ``$`` back to the band's left edge, ``-`` down to the next band.

textual-image encodes any picture (about 66 ms for a 560×560 digit). Ours are a few dozen grays (or tinted grays)
repeated by a whole factor, so rows and columns come in runs of equal pixels. Every band and every run is worked out
once on the picture with those repeats merged (28×28 for a digit, whatever the canvas), and bands that cover the same
picture rows are encoded once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

BAND_HEIGHT = 6
MAX_REGISTERS = 256
"""Colour registers a picture may use: what xterm offers with ``numColorRegisters: 256`` (and textual-image uses)."""
PERCENT = ((np.arange(256) * 100 + 127) // 255).astype(np.uint32)
"""A channel 0-255 → Sixel's 0-100 percent, rounded as textual-image rounds it."""
BAND_BITS = (1 << np.arange(BAND_HEIGHT)).astype(np.int64)
POPCOUNT = np.array([bin(bits).count("1") for bits in range(1 << BAND_HEIGHT)])
CHUNK_CELLS = 1 << 21
"""Bands are worked out together in arrays of about this many (band, colour, column) cells."""
START = '\x1bP0;0;0q"1;1;{width};{height}'
"""DCS with textual-image's parameters (every pixel is painted, so the background option does not matter), then the
raster attributes: square pixels, the image's size."""
END = "\x1b\\"


def image_to_sixels(image: Image.Image) -> str:
    """``image`` as Sixel data: each colour rounded to Sixel's percentages (coarser where more than
    :data:`MAX_REGISTERS` would be needed), each register selected right after it is defined (xterm draws with the
    register selected before otherwise)."""
    pixels = np.asarray(image if image.mode in ("L", "RGB") else image.convert("RGB"))
    height, width = pixels.shape[:2]
    row_starts, column_starts = _run_starts(pixels, axis=0), _run_starts(pixels, axis=1)
    registers, colours = _palette(pixels[row_starts][:, column_starts])
    definitions = "".join(f"#{n};2;{r};{g};{b}#{n}" for n, (r, g, b) in enumerate(colours.tolist()))
    rows = np.full(-(-height // BAND_HEIGHT) * BAND_HEIGHT, -1)  # each pixel row's picture row; -1 below the image
    rows[:height] = np.repeat(np.arange(len(row_starts)), np.diff(np.append(row_starts, height)))
    distinct, band_of = np.unique(rows.reshape(-1, BAND_HEIGHT), axis=0, return_inverse=True)
    edges = np.append(column_starts, width)
    per_chunk = max(1, CHUNK_CELLS // (len(colours) * len(column_starts)))
    encoded = [
        band
        for first in range(0, len(distinct), per_chunk)
        for band in _bands(registers, distinct[first : first + per_chunk], edges, len(colours))
    ]
    return (
        START.format(width=width, height=height) + definitions + "-".join([encoded[i] for i in band_of.ravel()]) + END
    )


def _run_starts(pixels: np.ndarray, axis: int) -> np.ndarray:
    """Indices along ``axis`` where a line of pixels differs from the one before (0 always)."""
    line = [slice(None)] * pixels.ndim
    before, after = list(line), list(line)
    before[axis], after[axis] = slice(None, -1), slice(1, None)
    other = tuple(index for index in range(pixels.ndim) if index != axis)
    differs = np.any(pixels[tuple(after)] != pixels[tuple(before)], axis=other)
    return np.concatenate(([0], np.flatnonzero(differs) + 1))


def _palette(core: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's register [h, w] and the registers' colours [n, 3] in percent, at most :data:`MAX_REGISTERS`."""
    percent = PERCENT[core] if core.ndim == 3 else PERCENT[core][..., None].repeat(3, axis=2)
    step = 1
    while True:
        coarse = percent // step * step
        keys = (coarse[..., 0] << 16) | (coarse[..., 1] << 8) | coarse[..., 2]
        found, registers = np.unique(keys, return_inverse=True)
        if len(found) <= MAX_REGISTERS:
            colours = np.stack((found >> 16, (found >> 8) & 0xFF, found & 0xFF), axis=1)
            return registers.reshape(keys.shape), colours
        step += 1


def _bands(registers: np.ndarray, band_rows: np.ndarray, edges: np.ndarray, palette_size: int) -> list[str]:
    """Bands [n, 6] of picture rows (-1: below the picture) → their Sixel data, without the ``-`` between bands.

    Each colour of a band is sent in runs of equal columns, ``$`` between colours; a run of 0 bits up to the right
    edge is not sent.
    """
    bits, row_band, row_colour = _colour_bits(registers, band_rows, edges, palette_size)
    columns = registers.shape[1]
    starts = np.ones(bits.shape, dtype=bool)
    starts[:, 1:] = bits[:, 1:] != bits[:, :-1]
    flat = np.flatnonzero(starts)
    ends = np.append(flat[1:], bits.size)
    run_row, run_first = np.divmod(flat, columns)
    run_last = ends - run_row * columns
    values = bits.ravel()[flat]
    keep = (values != 0) | (run_last != columns)
    run_row = run_row[keep]
    lengths = (edges[run_last] - edges[run_first])[keep]
    opens = np.flatnonzero(np.diff(run_row, prepend=-1))  # each colour's first run: its #n (and $ before) go there
    prefix = np.zeros(len(run_row), dtype=np.int64)
    prefix[opens] = row_colour[run_row[opens]] + 1
    opens_band = np.diff(row_band, prepend=-1) != 0
    prefix[opens[~opens_band[run_row[opens]]]] *= -1
    runs = [_run(*run) for run in zip(prefix.tolist(), lengths.tolist(), values[keep].tolist(), strict=True)]
    bounds = np.searchsorted(row_band[run_row], np.arange(len(band_rows) + 1)).tolist()
    return ["".join(runs[bounds[i] : bounds[i + 1]]) for i in range(len(band_rows))]


def _colour_bits(
    registers: np.ndarray, band_rows: np.ndarray, edges: np.ndarray, palette_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The six bits of each (band, colour) drawn in a band, for each picture column [pairs, columns], with the band
    and the register of each row: sorted by band, its first colour painted over the whole band.

    The colour covering most of a band is the one painted whole (one ``!N~``): a 0 bit leaves a pixel as it is, so
    the others, painted after it, leave each pixel in its own colour.
    """
    columns = registers.shape[1]
    band, line = np.nonzero(band_rows >= 0)
    colour = registers[band_rows[band, line]]  # [pixel rows drawn, columns]
    pair = band[:, None] * palette_size + colour  # (band, colour) of each pixel
    used = np.bincount(pair.ravel(), minlength=len(band_rows) * palette_size) > 0
    row = (np.cumsum(used) - 1)[pair]  # one row of bits per (band, colour) drawn in it
    pairs = np.flatnonzero(used)
    row_band, row_colour = np.divmod(pairs, palette_size)
    cells = row * columns + np.arange(columns)
    bits = np.bincount(cells.ravel(), BAND_BITS[line][:, None].repeat(columns, axis=1).ravel(), len(pairs) * columns)
    bits = bits.astype(np.int64).reshape(len(pairs), columns)
    widths = np.diff(edges)
    painted = (POPCOUNT[bits] * widths).sum(axis=1)
    order = np.lexsort((-painted, row_band))
    fill = order[np.flatnonzero(np.diff(row_band[order], prepend=-1))]
    bits[fill] = np.bincount(band, BAND_BITS[line], len(band_rows)).astype(np.int64)[row_band[fill], None]
    first = np.zeros(len(pairs), dtype=bool)
    first[fill] = True
    order = np.lexsort((~first, row_band))
    return bits[order], row_band[order], row_colour[order]


@lru_cache(maxsize=16384)
def _run(prefix: int, length: int, value: int) -> str:
    """``length`` columns of the six bits ``value``: the character repeated, or ``!N`` and the character; after
    ``#n`` where ``prefix`` is n + 1 (a band's first colour), after ``$#n`` where it is -(n + 1)."""
    character = chr(0x3F + value)
    run = character * length if length < 4 else f"!{length}{character}"
    if prefix == 0:
        return run
    return f"#{prefix - 1}{run}" if prefix > 0 else f"$#{-prefix - 1}{run}"
