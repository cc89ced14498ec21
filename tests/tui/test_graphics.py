"""Real pixels in the explorer: choosing the protocol, fitting pictures, and what Kitty's protocol and Sixel send."""

from __future__ import annotations

import base64
import io
import re
import sys

import numpy as np
import pytest
from PIL import Image
from textual.geometry import Offset, Region

from vae_core.errors import VaeError
from vae_tui.graphics import Graphics, PixelPicture, fit_picture, wanted_protocol
from vae_tui.widgets.digit_view import DigitView
from vae_tui.widgets.grid_view import GridView

KITTY_MESSAGE = re.compile(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\")
CELL_PIXELS = (10, 20)


@pytest.mark.parametrize(
    ("mode", "environ", "is_terminal", "wanted"),
    [
        ("auto", {"TERM": "xterm-256color"}, True, "detect"),
        ("auto", {"TERM": "xterm-256color", "TMUX": "/tmp/tmux-0/default,1,0"}, True, "cells"),
        ("auto", {"TERM": "screen-256color"}, True, "cells"),
        ("auto", {"TERM": "linux"}, True, "cells"),
        ("auto", {"TERM": "xterm-kitty"}, False, "cells"),
        ("sixel", {"TERM": "linux", "TMUX": "x"}, True, "sixel"),
        ("kitty", {}, False, "kitty"),
        ("cells", {"TERM": "xterm-kitty"}, True, "cells"),
    ],
)
def test_auto_asks_the_terminal_only_where_images_can_pass(mode, environ, is_terminal, wanted):
    assert wanted_protocol(mode, environ, is_terminal) == wanted


def test_an_unknown_graphics_mode_is_an_error():
    with pytest.raises(VaeError, match="unknown graphics mode 'iterm'"):
        wanted_protocol("iterm", {}, True)


def test_a_digit_grows_by_whole_factors_and_is_centred_on_a_black_canvas():
    digit = np.random.default_rng(0).random((28, 28))
    canvas, placement = fit_picture(digit, 300, 280)
    assert canvas.size == (300, 280) and canvas.mode == "L"
    assert (placement.scale, placement.left, placement.top, placement.width) == (10, 10, 0, 280)
    pixels = np.asarray(canvas)
    expected = (np.clip(digit, 0, 1) * 255 + 0.5).astype(np.uint8).repeat(10, axis=0).repeat(10, axis=1)
    np.testing.assert_array_equal(pixels[:, 10:290], expected)
    assert not pixels[:, :10].any() and not pixels[:, 290:].any()


def test_a_picture_larger_than_the_canvas_shrinks_and_the_highlight_is_tinted():
    grid = np.ones((420, 420)) * 0.0
    highlight = np.zeros((420, 420), dtype=bool)
    highlight[:28, :28] = True
    canvas, placement = fit_picture(grid, 210, 300, highlight)
    assert canvas.size == (210, 300) and canvas.mode == "RGB"
    assert placement.scale == pytest.approx(0.5) and (placement.width, placement.height) == (210, 210)
    pixels = np.asarray(canvas)
    top = placement.top
    assert tuple(pixels[top + 2, 2]) == (20, 50, 110)  # black in the highlighted cell turns the highlight blue
    assert tuple(pixels[top + 20, 20]) == (0, 0, 0)


@pytest.fixture(scope="module")
def image_widgets():
    """textual-image's widgets, imported with stdout not a terminal: its import would otherwise ask the terminal
    running the tests what it can draw."""
    real, sys.__stdout__ = sys.__stdout__, io.StringIO()
    try:
        from vae_tui.graphics import kitty_image_widget, sixel_image_widget

        return {"kitty": kitty_image_widget(), "sixel": sixel_image_widget()}
    finally:
        sys.__stdout__ = real


def kitty_pngs(written: str) -> list[tuple[str, Image.Image]]:
    """The images an app sent with Kitty's protocol, in order: (the placement's control data, the PNG)."""
    payloads: dict[str, str] = {}
    images = []
    for control, payload in KITTY_MESSAGE.findall(written):
        fields = dict(field.split("=", 1) for field in control.split(","))
        if fields.get("f") == "100":
            payloads[fields["i"]] = payloads.get(fields["i"], "") + payload
        if fields.get("a") == "p":
            images.append((control, Image.open(io.BytesIO(base64.b64decode(payloads[fields["i"]])))))
    return images


async def test_kitty_escapes_carry_the_decoded_digit_as_a_png(session, make_app, image_widgets, monkeypatch, truecolor):
    app = make_app(session)
    app.graphics = Graphics("kitty", image_widgets["kitty"], CELL_PIXELS)
    written = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", written)  # textual-image writes Kitty's messages straight to stdout
    async with app.run_test(size=(120, 40)) as pilot:
        while app.session is None:
            await pilot.pause(0.05)
        await pilot.pause()
        view = app.query_one("#decoded", DigitView)
        columns, rows = view.query_one(PixelPicture).size
        for move in ("start", "right"):
            if move == "right":
                written.seek(0), written.truncate()
                await pilot.press("right")
            await pilot.pause()
            expected = fit_picture(session.decode(app.cursor), columns * CELL_PIXELS[0], rows * CELL_PIXELS[1])[0]
            sent = [(control, png) for control, png in kitty_pngs(written.getvalue()) if png.size == expected.size]
            assert sent, f"no image of the decoded view's size was sent after {move}"
            control, png = sent[-1]
            assert f"c={columns}" in control and f"r={rows}" in control and "U=1" in control
            np.testing.assert_array_equal(np.asarray(png.convert("L")), np.asarray(expected))
        assert app.cursor == (0.1, 0.0)


async def test_sixel_draws_the_digit_and_the_whole_grid_at_full_resolution(session, make_app, image_widgets):
    app = make_app(session)
    app.graphics = Graphics("sixel", image_widgets["sixel"], (9, 19))
    async with app.run_test(size=(120, 40)) as pilot:
        while app.session is None:
            await pilot.pause(0.05)
        await pilot.pause()
        picture = app.query_one("#decoded", DigitView).query_one(PixelPicture)
        impl = picture.children[0].children[0]
        last_line = impl.render_lines(Region(0, 0, *picture.size))[-1]
        sixels = "".join(segment.text for segment in last_line)
        assert re.search(r"\x1bP[0-9;]*q", sixels) and sixels.rstrip().endswith("H")
        assert re.search(r"#(\d+);2;\d+;\d+;\d+#\1", sixels)  # registers selected (xterm's colours)
        (title,) = app.query_one("#decoded-title").render_line(0)
        assert title.text.startswith("Decoded at") and title.style.color != title.style.bgcolor  # text stays visible
        await pilot.press("g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        grid = app.query_one(GridView)
        placement = grid.query_one(PixelPicture).placement
        assert placement is not None and placement.scale >= 1  # 28 pixels a digit, or more: full resolution
        assert (placement.width, placement.height) == (15 * 28 * placement.scale,) * 2
        # The pointer over the grid's pixels: the top-left digit is the point (-2, +2), the next one right (-1.71, +2).
        for column, expected in ((0, (-2.0, 2.0)), (1, (-2.0 + 4 / 14, 2.0))):
            x, y = placement.left + (column + 0.5) * 28 * placement.scale, placement.top + 14 * placement.scale
            cell = Offset(int(x // 9), int(y // 19)) + grid.content_region.offset - grid.region.offset
            await pilot.hover(GridView, cell)
            await pilot.pause(0.1)
            assert app.pointer == pytest.approx(expected)
