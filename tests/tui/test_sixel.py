"""Our Sixel encoder, read back by a small Sixel decoder: the pixels come back as the colours they were rounded to."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from vae_tui.graphics import fit_picture
from vae_tui.sixel import MAX_REGISTERS, PERCENT, image_to_sixels

SIXEL_DATA = re.compile(r'\x1bP0;0;0q"1;1;(\d+);(\d+)(.*)\x1b\\\Z', re.DOTALL)
COMMAND = re.compile(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?|!(\d+)([?-~])|([?-~])|(\$)|(-)")


def decode_sixels(sixels: str) -> np.ndarray:
    """Sixel data → [H, W, 3] percent colours (-1 where nothing was painted); fails on anything it does not know."""
    header = SIXEL_DATA.match(sixels)
    assert header, "not a Sixel image with raster attributes"
    width, height, body = int(header[1]), int(header[2]), header[3]
    pixels = np.full((height, width, 3), -1)
    colours: dict[int, tuple[int, int, int]] = {}
    selected, x, top, position = None, 0, 0, 0
    for command in COMMAND.finditer(body):
        assert command.start() == position, f"unknown Sixel command at {body[position : position + 10]!r}"
        position = command.end()
        register, red, green, blue, count, repeated, single, carriage_return, next_band = command.groups()
        if register is not None:
            if red is None:
                selected = int(register)
            else:  # a definition leaves the selection as it was (xterm's behaviour: hence the explicit #n)
                colours[int(register)] = (int(red), int(green), int(blue))
        elif carriage_return:
            x = 0
        elif next_band:
            x, top = 0, top + 6
        else:
            character, times = (repeated, int(count)) if repeated else (single, 1)
            bits = ord(character) - 0x3F
            for row in range(6):
                if bits >> row & 1:
                    assert top + row < height and x + times <= width, "painted outside the image"
                    pixels[top + row, x : x + times] = colours[selected]
            x += times
    assert position == len(body), "trailing data"
    return pixels


def rounded(image: Image.Image) -> np.ndarray:
    """The colours Sixel can show for ``image``: each channel in percent."""
    pixels = PERCENT[np.asarray(image)].astype(int)
    return pixels if pixels.ndim == 3 else pixels[..., None].repeat(3, axis=2)


def digit_canvas(width: int = 560, height: int = 560, seed: int = 0) -> Image.Image:
    """A digit-like picture: smooth grays, mostly black, blown up onto a canvas as the explorer draws it."""
    rng = np.random.default_rng(seed)
    digit = np.clip(rng.random((28, 28)) * 1.6 - 0.6, 0, 1)
    return fit_picture(digit, width, height)[0]


def tinted_grid(width: int = 841, height: int = 700) -> Image.Image:
    """The 15×15 grid with one digit highlighted, in 64 grays (with their 64 tints: well within the registers)."""
    rng = np.random.default_rng(1)
    grid = rng.integers(0, 64, (420, 420)) / 63
    highlight = np.zeros((420, 420), dtype=bool)
    highlight[28:56, 56:84] = True
    return fit_picture(grid, width, height, highlight)[0]


@pytest.mark.parametrize(
    "image",
    [
        digit_canvas(),
        digit_canvas(301, 487, seed=2),  # height not a multiple of 6, odd width, centred with black margins
        tinted_grid(),
        tinted_grid(211, 205),  # shrunk: no repeats at all
        Image.fromarray(np.arange(7, dtype=np.uint8)[:, None] * 40),  # one column
        Image.fromarray(np.full((1, 1), 200, dtype=np.uint8)),
        Image.fromarray(np.zeros((5, 3), dtype=np.uint8)),  # black only, less than a band
    ],
    ids=["digit 560x560", "digit 301x487", "tinted grid 841x700", "tinted grid shrunk", "width 1", "1x1", "black"],
)
def test_the_decoded_sixels_are_the_image_in_sixel_colours(image):
    np.testing.assert_array_equal(decode_sixels(image_to_sixels(image)), rounded(image))


def test_each_register_is_selected_right_after_it_is_defined_and_before_it_draws():
    sixels = image_to_sixels(tinted_grid())
    definitions = re.findall(r"#(\d+);2;\d+;\d+;\d+(#\d+)?", sixels)
    assert definitions and all(selection == f"#{register}" for register, selection in definitions)


def test_repeated_columns_become_repeat_counts():
    sixels = image_to_sixels(digit_canvas())
    assert len(sixels) < 40_000  # 560 columns a band, 94 bands: without !N runs it would be over 52,000 characters
    assert re.search(r"!20[?-~]", sixels)  # a picture pixel is 20 canvas columns wide


def test_more_colours_than_registers_are_rounded_to_fewer():
    every_level = np.linspace(0, 1, 256)[None].repeat(2, axis=0)
    image = fit_picture(every_level, 256, 2, highlight=np.array([[False], [True]]).repeat(256, axis=1))[0]
    assert len(np.unique(rounded(image).reshape(-1, 3), axis=0)) > MAX_REGISTERS  # 101 grays and their tints
    decoded = decode_sixels(image_to_sixels(image))
    assert len(np.unique(decoded.reshape(-1, 3), axis=0)) <= MAX_REGISTERS
    assert np.abs(decoded - rounded(image)).max() == 1
