"""The pure renderer: arrays in, strips out."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import Color

from vae_tui.blocks import (
    area_resize,
    braille_cells,
    image_strips,
    map_strips,
    note_strips,
    place,
    resample,
    to_levels,
)
from vae_tui.palette import LabelPalette

# Four rows, two columns: each strip holds two stacked rows, so this gives 2 strips of 2 cells.
KNOWN = np.array(
    [
        [0.0, 1.0],
        [1.0, 0.0],
        [0.5, 0.25],
        [1.0, 1.0],
    ]
)


def cells(strip) -> list[tuple[str, object]]:
    """(character, style) per cell, run-length segments split back into cells."""
    return [(char, segment.style) for segment in strip for char in segment.text]


def gray(level: int) -> Color:
    return Color.from_rgb(level, level, level)


def test_known_array_gives_upper_half_blocks_with_upper_pixel_as_foreground():
    strips = image_strips(KNOWN)
    assert len(strips) == 2
    assert [strip.cell_length for strip in strips] == [2, 2]
    top, bottom = cells(strips[0]), cells(strips[1])
    assert [char for char, _ in top + bottom] == ["▀"] * 4
    assert [(style.color, style.bgcolor) for _, style in top] == [(gray(0), gray(255)), (gray(255), gray(0))]
    assert [(style.color, style.bgcolor) for _, style in bottom] == [(gray(128), gray(255)), (gray(64), gray(255))]


def test_levels_round_like_the_png_writer():
    assert to_levels(np.array([[0.0, 0.5, 0.25, 1.0, -1.0, 2.0]])).tolist() == [[0, 128, 64, 255, 0, 255]]


def test_mono_uses_glyphs_by_threshold():
    strips = image_strips(KNOWN, mono=True)
    assert [strip.text for strip in strips] == ["▄▀", "█▄"]


def test_equal_neighbours_share_one_segment():
    strip = image_strips(np.ones((2, 5)))[0]
    assert len(list(strip)) == 1
    assert strip.text == "▀" * 5


def test_odd_height_is_padded_with_black():
    strip = image_strips(np.ones((3, 1)))[1]
    (_, style), *_ = cells(strip)
    assert (style.color, style.bgcolor) == (gray(255), gray(0))


def test_highlight_tints_only_the_marked_pixels():
    marked = np.zeros(KNOWN.shape, dtype=bool)
    marked[0, 0] = True
    first, second = cells(image_strips(KNOWN, highlight=marked)[0])
    assert first[1].color != gray(0)  # black turns blue
    assert first[1].bgcolor == gray(int(to_levels(KNOWN)[1, 0]))  # the lower pixel of the same cell is not marked
    assert second[1].color == gray(255)
    assert cells(image_strips(KNOWN, mono=True, highlight=marked)[0])[0][1].reverse


def test_resample_doubles_and_halves():
    image = np.arange(4.0).reshape(2, 2)
    assert resample(image, 2).tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    assert resample(resample(image, 2), 0.5).tolist() == image.tolist()
    with pytest.raises(ValueError):
        resample(image, 1.5)


def test_braille_cells_set_one_bit_per_dot_and_take_the_majority_label():
    # Dots at (column, row) in dot coordinates: a 2×1-cell map holds 4×4 dots.
    columns = np.array([0.5, 1.5, 0.5, 2.5, 9.0])
    rows = np.array([0.5, 3.5, 3.2, 1.0, 0.0])
    labels = np.array([3, 3, 7, 5, 1])
    codes, majority = braille_cells(columns, rows, labels, width=2, height=1)
    assert chr(codes[0, 0]) == chr(0x2800 + 0x01 + 0x80 + 0x40)  # top-left, bottom-right, bottom-left dots
    assert chr(codes[0, 1]) == chr(0x2800 + 0x02)
    assert majority.tolist() == [[3, 5]]  # the dot at column 9 lies outside and is dropped


def test_map_strips_draw_dots_axes_and_marks():
    codes = np.full((2, 3), 0x2801)
    majority = np.array([[2, -1, -1], [-1, -1, 4]])
    colors = tuple((index, index, index) for index in range(10))
    strips = map_strips(codes, majority, LabelPalette(colors, frozenset()), axes=(1, 1), marks={(0, 2): "A"})
    assert [strip.text for strip in strips] == ["⠁│A", "─┼⠁"]
    assert cells(strips[0])[0][1].color == Color.from_rgb(2, 2, 2)
    all_digits = LabelPalette(colors, frozenset(range(10)))
    assert [strip.text for strip in map_strips(codes, majority, all_digits, mono=True)] == ["2  ", "  4"]
    only_four = LabelPalette(colors, frozenset({4}))  # colour tells 2 apart, 4 needs its digit
    assert [strip.text for strip in map_strips(codes, majority, only_four)] == ["⠁  ", "  4"]


def test_area_resize_averages_what_each_new_pixel_covers():
    image = np.zeros((6, 6))
    image[:3, :3] = 1.0
    assert area_resize(image, 2, 2).tolist() == [[1.0, 0.0], [0.0, 0.0]]
    thirds = area_resize(np.array([[0.0, 3.0, 6.0]]), 1, 2)  # 1.5 pixels each: 0·1 + 3·½ and 3·½ + 6·1
    np.testing.assert_allclose(thirds, [[1.0, 5.0]])
    assert area_resize(np.ones((28, 28)), 5, 5).shape == (5, 5)


def test_note_strips_wrap_centre_and_stop_at_the_height():
    strips = note_strips("one two three four five six seven eight nine ten", width=20, height=2)
    assert len(strips) == 2 and all(strip.cell_length == 20 for strip in strips)
    assert strips[0].text.strip() == "one two three" and strips[0].text.startswith(" ")


def test_place_pads_and_cuts_to_the_width():
    strips = image_strips(np.ones((2, 3)))
    (padded,) = place(strips, width=6, left=2)
    assert padded.cell_length == 6 and padded.text == "  ▀▀▀ "
    (cut,) = place(strips, width=4, left=2)
    assert cut.cell_length == 4 and cut.text == "  ▀▀"
