"""The label palette and colour detection: ten labels told apart at every colour depth, truecolor where offered."""

from __future__ import annotations

from itertools import combinations

import pytest

from vae_tui.palette import DISTINCT, LABEL_COLORS, MODES, color_distance, detect_colors, label_palette


@pytest.mark.parametrize("mode", ["truecolor", "256", "16"])
def test_labels_relying_on_colour_are_pairwise_distinguishable(mode):
    palette = label_palette(mode)
    for first, second in combinations(range(10), 2):
        if first in palette.glyphs or second in palette.glyphs:
            continue  # drawn as its digit: the character tells it apart
        assert color_distance(palette.colors[first], palette.colors[second]) >= DISTINCT, (first, second)


@pytest.mark.parametrize(("mode", "most_glyphs"), [("truecolor", 0), ("256", 0), ("16", 5)])
def test_colour_does_the_work_wherever_the_depth_allows(mode, most_glyphs):
    assert len(label_palette(mode).glyphs) <= most_glyphs
    assert len(set(label_palette(mode).colors)) == 10


def test_the_palette_is_the_nearest_each_depth_can_show():
    from rich.color import EIGHT_BIT_PALETTE, STANDARD_PALETTE

    assert label_palette("truecolor").colors == LABEL_COLORS
    assert set(label_palette("256").colors) <= {tuple(EIGHT_BIT_PALETTE[index]) for index in range(256)}
    assert set(label_palette("16").colors) <= {tuple(STANDARD_PALETTE[index]) for index in range(16)}
    for mode in ("256", "16"):
        for wanted, shown in zip(LABEL_COLORS, label_palette(mode).colors, strict=True):
            assert color_distance(wanted, shown) < 50  # a near colour, not any colour that is free


def test_without_colour_every_label_is_its_digit():
    assert label_palette("none").glyphs == frozenset(range(10))


def test_the_distance_sees_what_colour_blind_eyes_see():
    red, green = (213, 94, 0), (0, 153, 0)
    assert color_distance(red, green) < 20  # far apart with normal vision, close for a deuteranope
    assert color_distance((0, 0, 0), (255, 255, 255)) > 90


@pytest.mark.parametrize(
    ("environ", "mode"),
    [
        ({"TERM": "xterm-direct"}, "truecolor"),
        ({"TERM": "xterm-truecolor"}, "truecolor"),
        ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, "truecolor"),
        ({"TERM": "linux", "COLORTERM": "24bit"}, "truecolor"),
        ({"TERM": "xterm-256color"}, None),  # Textual tells 256 colours from 16 itself
        ({"TERM": "linux"}, None),
        ({"TERM": "xterm-direct", "NO_COLOR": "1"}, "none"),
    ],
)
def test_detect_colors(environ, mode):
    assert detect_colors(environ) == mode


@pytest.mark.parametrize(("term", "system"), [("xterm-direct", "truecolor"), ("xterm-256color", "256")])
def test_apply_colors_without_an_override_uses_the_detected_depth(monkeypatch, term, system):
    import textual.constants
    from rich.console import Console

    from vae_tui.app import apply_colors

    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "auto")
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "auto")
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", term)
    apply_colors(None)
    chosen = textual.constants.COLOR_SYSTEM
    console = Console(color_system=chosen, force_terminal=True, _environ={"TERM": term})
    assert console.color_system == system


def test_modes_are_the_cli_choices():
    assert MODES == ("truecolor", "256", "16", "none")
