"""The walk from A to B saved from the explorer as a GIF: the very file `vae interpolate X1 Y1 X2 Y2 OUT.gif` writes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageSequence

from tests.conftest import ok
from vae_core.images import decode_points
from vae_core.picture_defaults import INTERPOLATION_STEPS, VISIBLE_PIXELS

SIZE = (100, 30)


async def wait_for_file(app, pilot, pattern: str, exports) -> list:
    for _ in range(300):
        found = sorted(exports.glob(pattern))
        if found:
            return found
        await pilot.pause(0.02)
    raise AssertionError(f"nothing matching {pattern} was written")


async def test_the_walk_gif_equals_vae_interpolates(session, make_app, random_checkpoint, tmp_path):
    app = make_app(session)
    exports = tmp_path / "exports"
    async with app.run_test(size=SIZE) as pilot:
        while app.session is None:
            await pilot.pause(0.02)
        await pilot.press("w")  # no marks yet: a warning, no file
        await pilot.press("left", "left", "down", "a", *["right"] * 6, "up", "up", "b")
        assert app.marks == pytest.approx({"A": (-0.2, -0.1), "B": (0.4, 0.1)})
        await pilot.press("w")
        (walk,) = await wait_for_file(app, pilot, "*.gif", exports)
        await pilot.press("w")
        assert len(await wait_for_file(app, pilot, "vae-walk-2.gif", exports)) == 1  # no overwrite
    assert walk.name == "vae-walk.gif"
    ok("interpolate", -0.2, -0.1, 0.4, 0.1, tmp_path / "cli.gif", "--checkpoint", random_checkpoint)
    assert walk.read_bytes() == (tmp_path / "cli.gif").read_bytes()
    with Image.open(walk) as gif:
        frames = [np.asarray(frame.convert("L")) for frame in ImageSequence.Iterator(gif)]
    # The explorer's walk is a picture to look at: enlarged as vae interpolate's default, sharp pixels.
    assert len(frames) == INTERPOLATION_STEPS and frames[0].shape == (VISIBLE_PIXELS, VISIBLE_PIXELS)
    frames = [frame[:: VISIBLE_PIXELS // 28, :: VISIBLE_PIXELS // 28] for frame in frames]
    ends = decode_points(session.model, np.array([[-0.2, -0.1], [0.4, 0.1]]))
    for frame, end in zip((frames[0], frames[-1]), ends, strict=True):
        assert np.abs(frame.astype(int) - np.rint(end * 255)).max() <= 8  # GIF's palette, within a few levels


async def test_the_palette_offers_the_walk_gif(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        while app.session is None:
            await pilot.pause(0.02)
        titles = [command.title for command in app.get_system_commands(app.screen)]
    assert "Save the walk as a GIF" in titles
