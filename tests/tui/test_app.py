"""The explorer driven by Textual's pilot: moves, views, export, interpolation, data loading, errors."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from vae_core.errors import VaeError
from vae_core.images import decode_points, latent_grid, save_png
from vae_tui.app import ExplorerApp
from vae_tui.widgets.digit_view import DigitView
from vae_tui.widgets.grid_view import GridView
from vae_tui.widgets.latent_map import LatentMap
from vae_tui.widgets.reconstructions import ReconstructionView
from vae_tui.widgets.status_bar import StatusBar

SIZE = (100, 30)


async def settle(app: ExplorerApp, pilot) -> None:
    """Let workers finish and their results land on screen."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def decoded(app: ExplorerApp) -> np.ndarray:
    return app.query_one("#decoded", DigitView).image


async def test_moving_the_cursor_changes_coordinates_and_digit(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        before = decoded(app).copy()
        await pilot.press("right", "right", "up")
        assert app.cursor == pytest.approx((0.2, 0.1))
        assert "x +0.200  y +0.100" in app.query_one(StatusBar).render().plain
        assert not np.array_equal(decoded(app), before)
        np.testing.assert_array_equal(decoded(app), decode_points(session.model, np.array([[0.2, 0.1]]))[0])
        await pilot.press("h", "j", "j")
        assert app.cursor == pytest.approx((0.1, -0.1))


async def test_a_fine_move_at_the_smallest_step_shows_in_the_status_line(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*["left_square_bracket"] * 7)  # 0.1 halved down to the smallest step, 0.001
        assert app.step == 0.001
        await pilot.press("shift+right")
        assert app.cursor == pytest.approx((0.0001, 0.0))
        assert "x +0.0001  y +0.0000" in app.query_one(StatusBar).render().plain


async def test_step_keys_fine_moves_and_recentre(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("shift+right", "L")
        assert app.cursor == pytest.approx((0.02, 0.0))
        await pilot.press("right_square_bracket", "up")
        assert app.step == pytest.approx(0.2)
        assert app.cursor == pytest.approx((0.02, 0.2))
        await pilot.press("0")
        assert app.cursor == (0.0, 0.0)


async def test_the_cursor_stops_at_the_edge_of_the_latent_range(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.cursor = (999.9, -5000.0)
        await pilot.press("right", "right")
        assert app.cursor == (1000.0, -1000.0)
        assert "x +1000.000  y -1000.000" in app.query_one(StatusBar).render().plain


async def test_the_map_follows_the_cursor_zooms_and_jumps_on_click(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        latent_map = app.query_one(LatentMap)
        await pilot.press("plus")
        assert latent_map.viewport.span == pytest.approx(3.0 / 1.25)
        app.cursor = (9.0, 0.0)
        await pilot.pause()
        x_min, x_max, _, _ = latent_map.viewport.bounds(*latent_map.size)
        assert x_min < 9.0 < x_max
        await pilot.press("0")
        await pilot.click(LatentMap, offset=(5, 3))
        width, height = latent_map.size
        # The click lands inside the border: content cell (row 2, column 4).
        assert app.cursor == pytest.approx(latent_map.viewport.cell_center(2, 4, width, height), abs=1e-5)


async def test_the_map_draws_the_atlas_digits(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        text = "".join(app.query_one(LatentMap).render_line(y).text for y in range(20))
        assert sum("⠁" <= char <= "⣿" for char in text) > 50


async def test_the_grid_shows_every_cell_shrunk_and_f_pans_legible_cells(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("g")
        await settle(app, pilot)
        grid = app.query_one(GridView)
        assert grid.image.shape == (420, 420)
        assert grid.window.complete and 1 < grid.window.cell < 14  # all 15×15, area-averaged down
        side = round(15 * grid.window.cell)  # pixels on a side of the whole grid, as tall as the view allows
        assert side == min(grid.size.width, 2 * grid.size.height)
        lines = [grid.render_line(y).text for y in range(grid.size.height)]
        assert sum(line.count("▀") for line in lines) == side * -(-side // 2)
        await pilot.press("f")
        assert grid.window.cell == 14 and not grid.window.complete
        assert "move to pan" in str(grid.border_subtitle)
        lines = [grid.render_line(y).text for y in range(grid.size.height)]
        assert sum(line.count("▀") for line in lines) >= grid.window.rows * grid.window.columns * 14 * 7
        first = grid.window.first_column
        for _ in range(grid.window.columns):
            await pilot.press("right")
        assert grid.window.first_column > first
        assert app.query_one(StatusBar).step == pytest.approx(4 / 14, abs=1e-4)
        await pilot.press("comma", "comma")
        await settle(app, pilot)
        assert grid.image.shape == (13 * 28, 13 * 28)


async def test_a_small_grid_fits_whole_at_full_size_with_the_cursor_cell_highlighted(session, make_app):
    app = make_app(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("g", *["comma"] * 14)  # 15 down to 2, the smallest grid
        await settle(app, pilot)
        grid = app.query_one(GridView)
        assert grid.shown == (2, 2.0)
        await pilot.press("full_stop")
        await settle(app, pilot)
        assert grid.shown == (3, 2.0)
        assert grid.window.complete and grid.window.cell == 28
        assert "f full-size" in str(grid.border_subtitle)
        await pilot.press("left")  # one grid cell: 2.0 latent units with n=3 over ±2
        assert app.cursor == pytest.approx((-2.0, 0.0))


async def test_the_grid_title_says_when_the_cursor_is_outside_the_grid(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("g")
        await settle(app, pilot)
        grid = app.query_one(GridView)
        assert "outside" not in str(grid.border_title)
        app.cursor = (3.5, 0.0)
        await pilot.pause()
        assert str(grid.border_title) == "Grid 15×15 over ±2 · cursor (+3.50, +0.00) is outside"


async def test_clicking_a_grid_cell_moves_the_cursor_there(session, make_app):
    app = make_app(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("g", *["comma"] * 10)  # 5×5
        await settle(app, pilot)
        grid = app.query_one(GridView)
        assert grid.window.complete
        assert app.query_one(StatusBar).step == 1.0
        cell = grid.window.cell
        left = (grid.size.width - round(5 * cell)) // 2
        # Row 1, column 3, in the middle of the cell (a text row is two pixels); +1 for the border.
        await pilot.click(GridView, offset=(1 + left + int(cell * 3.5), 1 + int(cell * 1.5) // 2))
        assert app.cursor == pytest.approx(grid.point_of(1, 3))
        assert app.cursor == pytest.approx((1.0, 1.0))


async def test_grid_export_is_identical_to_export_grid(session, make_app, tmp_path):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("g", "full_stop", "minus")
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
    (exported,) = app.export_dir.glob("*.png")
    assert exported.name == "vae-grid-16x16-range2.5.png"
    expected = save_png(latent_grid(session.model, 16, 2.5), tmp_path / "expected.png")
    assert exported.read_bytes() == expected.read_bytes()


async def test_grid_export_matches_the_cli_command(session, make_app, random_checkpoint, tmp_path):
    from typer.testing import CliRunner

    import cli

    out = tmp_path / "cli.png"
    arguments = ["export-grid", str(out), "--checkpoint", str(random_checkpoint)]
    result = CliRunner().invoke(cli.app, arguments)
    assert result.exit_code == 0 and out.exists(), result.output
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("g")
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
    assert (app.export_dir / "vae-grid-15x15-range2.png").read_bytes() == out.read_bytes()


async def test_map_and_reconstruction_exports_and_no_overwrite(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        await pilot.press("r", "e")
        await settle(app, pilot)
        recon = app.query_one(ReconstructionView).image
    names = sorted(path.name for path in app.export_dir.glob("*.png"))
    assert names == ["vae-map-2.png", "vae-map.png", "vae-reconstructions.png"]
    from PIL import Image

    assert Image.open(app.export_dir / "vae-reconstructions.png").size == (recon.shape[1], recon.shape[0])
    assert recon.shape[0] == 56


async def test_new_reconstruction_set(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        view = app.query_one(ReconstructionView)
        first = view.image.copy()
        await pilot.press("n")
        assert not np.array_equal(view.image, first)


async def test_interpolation_walks_from_a_to_b(session, make_app):
    app = make_app(session)
    app.INTERPOLATION_FRAME_S = 0.01
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("i")  # no marks yet: a warning, no walk
        assert app._walk_timer is None
        await pilot.press("left", "left", "a", *["right"] * 5, "up", "b", "0")
        assert app.marks == pytest.approx({"A": (-0.2, 0.0), "B": (0.3, 0.1)})
        seen: list[tuple[float, float]] = []
        app.watch(app, "cursor", lambda point: seen.append(point), init=False)
        await pilot.press("i")
        for _ in range(200):
            if app._walk_timer is None:
                break
            await pilot.pause(0.01)
        assert len(seen) == app.INTERPOLATION_STEPS
        assert seen[0] == pytest.approx((-0.2, 0.0)) and seen[1][0] > seen[0][0]
        assert app.cursor == (0.3, 0.1)
        np.testing.assert_array_equal(decoded(app), decode_points(session.model, np.array([[0.3, 0.1]]))[0])
        assert app.query_one(StatusBar).busy == ""
        app._walk_on()  # a tick the stopped timer still delivers (it can, when it was due within 0.5 ms) is ignored
        assert app.cursor == (0.3, 0.1) and len(seen) == app.INTERPOLATION_STEPS


async def test_without_atlas_or_data_the_map_says_how_to_get_data(session, make_app):
    session.digits = None
    app = make_app(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        latent_map = app.query_one(LatentMap)
        text = " ".join(latent_map.render_line(y).text.strip() for y in range(latent_map.size.height))
        assert "--data-dir" in text
        assert app.query_one("#nearest", DigitView).image is None
        await pilot.press("e")
        await pilot.press("r", "e")
        await settle(app, pilot)
    assert not list(app.export_dir.glob("*.png"))


async def test_the_test_set_is_encoded_in_a_worker(session, make_app, idx_dir):
    session.test_set_dir = idx_dir
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert len(session.digits) == 100  # the fake test split replaced the atlas's 400
        assert len(app.query_one(LatentMap).means) == 100
        assert app.query_one(StatusBar).busy == ""


async def test_a_bad_data_dir_is_a_notification(session, make_app, tmp_path):
    session.test_set_dir = tmp_path / "missing"
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert any("cannot plot the test set" in str(n.message) for n in app._notifications)
        assert len(session.digits) == 400  # the atlas stays


async def test_a_checkpoint_that_fails_to_open_closes_the_app_with_its_message(tmp_path):
    def broken():
        raise VaeError("checkpoint x.safetensors is damaged")

    app = ExplorerApp(broken, export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
    assert app.load_error == "checkpoint x.safetensors is damaged"
    assert app.return_code == 1


async def test_keys_wait_for_the_checkpoint(session, make_app):
    opened = threading.Event()

    def slow_open():
        opened.wait(10)
        return session

    app = ExplorerApp(slow_open, export_dir=make_app(session).export_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right", "e")
        assert app.cursor == (0.0, 0.0)
        assert "loading the checkpoint" in app.query_one(StatusBar).render().plain
        opened.set()
        await settle(app, pilot)
        await pilot.press("right")
        assert app.cursor == pytest.approx((0.1, 0.0))
        assert decoded(app) is not None


async def test_help_screen_opens_and_closes(session, make_app):
    app = make_app(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"


async def test_no_color_draws_shapes_and_characters_only(session, make_app, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        view = app.query_one("#decoded", DigitView)
        segments = [segment for y in range(view.size.height) for segment in view.render_line(y)]
        # In colour every cell is ▀ in two greys; without colour, thresholded glyphs and no colour at all.
        assert {char for segment in segments for char in segment.text} <= {" ", "▀", "▄", "█"}
        assert any(glyph in segment.text for segment in segments for glyph in "▄█")
        assert all(segment.style is None or segment.style.color is None for segment in segments)
        assert all(segment.style is None or segment.style.bgcolor is None for segment in segments)
        latent_map = app.query_one(LatentMap)
        text = "".join(latent_map.render_line(y).text for y in range(latent_map.size.height))
        assert sum(char.isdigit() for char in text) > 50 and not any("⠁" <= char <= "⣿" for char in text)


def test_run_explorer_refuses_dumb_and_missing_terminals(monkeypatch, random_checkpoint):
    from vae_tui.app import run_explorer

    monkeypatch.setenv("TERM", "dumb")
    with pytest.raises(VaeError, match="TERM=dumb"):
        run_explorer(random_checkpoint, None, None)
    monkeypatch.setenv("TERM", "xterm-256color")
    with pytest.raises(VaeError, match="interactive terminal"):
        run_explorer(random_checkpoint, None, None)  # pytest captures stdout: not a tty


def test_a_latent_size_other_than_two_is_a_clear_error(tmp_path):
    import torch

    from vae_core.checkpoints import save_checkpoint
    from vae_core.model import VAE, VAEConfig
    from vae_tui.session import open_session

    torch.manual_seed(0)
    path = tmp_path / "three.safetensors"
    save_checkpoint(path, VAE(VAEConfig(latent_dim=3, hidden_dim=16)))
    with pytest.raises(VaeError, match="3-D latent space"):
        open_session(path, None)


def test_open_session_finds_the_atlas_beside_the_checkpoint(random_checkpoint, idx_dir):
    from vae_core.atlas import build_atlas, save_atlas
    from vae_core.checkpoints import load_checkpoint
    from vae_core.paths import atlas_path_for
    from vae_core.plugins import DATASETS
    from vae_tui.session import open_session

    model, _ = load_checkpoint(random_checkpoint)
    save_atlas(atlas_path_for(random_checkpoint), build_atlas(model, DATASETS.get("mnist").load("test", idx_dir), 50))
    session = open_session(random_checkpoint, idx_dir)
    assert len(session.digits) == 50
    assert session.test_set_dir == idx_dir and session.dataset == "mnist"


def test_an_atlas_left_from_a_replaced_checkpoint_is_re_encoded_with_the_new_model(random_checkpoint, idx_dir):
    import torch

    from vae_core.atlas import build_atlas, save_atlas
    from vae_core.checkpoints import save_checkpoint
    from vae_core.images import encode_means
    from vae_core.model import VAE
    from vae_core.paths import atlas_path_for
    from vae_core.plugins import DATASETS
    from vae_tui.session import open_session

    torch.manual_seed(1)
    old_model = VAE()
    test_set = DATASETS.get("mnist").load("test", idx_dir)
    save_atlas(atlas_path_for(random_checkpoint), build_atlas(old_model, test_set, 50))
    session = open_session(random_checkpoint, None)  # the checkpoint holds other weights than old_model
    assert not np.allclose(session.digits.means, encode_means(old_model, session.digits.images), atol=1e-3)
    assert np.allclose(session.digits.means, encode_means(session.model, session.digits.images), atol=1e-5)
    save_checkpoint(random_checkpoint, old_model)  # now the atlas matches: it is used as stored
    stored = open_session(random_checkpoint, None).digits
    assert np.array_equal(stored.means, encode_means(old_model, stored.images))


@pytest.mark.parametrize(("colors", "system"), [("truecolor", "truecolor"), ("256", "256"), ("16", "standard")])
def test_colors_choose_textual_color_system(monkeypatch, colors, system):
    import textual.constants

    from vae_tui.app import apply_colors

    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", textual.constants.COLOR_SYSTEM)
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "auto")  # restored (or removed) after the test
    apply_colors(colors)
    assert system == textual.constants.COLOR_SYSTEM


def test_colors_none_sets_no_color_and_unknown_is_an_error(monkeypatch):
    from vae_tui.app import apply_colors

    monkeypatch.setenv("NO_COLOR", "")  # so that monkeypatch removes it again after the test
    monkeypatch.delenv("NO_COLOR")
    apply_colors("none")
    assert os.environ["NO_COLOR"] == "1"
    with pytest.raises(VaeError, match="truecolor, 256, 16, none"):
        apply_colors("millions")


async def test_a_tiny_terminal_resized_while_running_keeps_working(session, make_app):
    app = make_app(session)
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(app, pilot)
        await pilot.press("right", "g", "right", "r", "m")
        assert app.cursor[0] > 0
        for size in ((120, 40), (40, 12), (80, 24), (20, 6)):
            await pilot.resize_terminal(*size)
            await settle(app, pilot)
            assert app.screen.size == size
            await pilot.press("up")
        assert "x +" in app.query_one(StatusBar).render().plain
        await pilot.press("g")
        await pilot.resize_terminal(160, 48)
        await settle(app, pilot)
        assert app.query_one(GridView).image is not None


async def test_the_digit_follows_the_pointer_over_the_map_and_a_click_pins_it(session, make_app):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        latent_map = app.query_one(LatentMap)
        width, height = latent_map.size
        for column, row in [(10, 5), (30, 12), (45, 20)]:
            await pilot.hover(LatentMap, offset=(1 + column, 1 + row))  # +1: the border
            await pilot.pause(0.05)
            point = latent_map.viewport.cell_center(row, column, width, height)
            np.testing.assert_array_equal(decoded(app), decode_points(session.model, np.array([point]))[0])
            status = app.query_one(StatusBar).render().plain
            assert f"x {point[0]:+.3f}  y {point[1]:+.3f} (pointer" in status
        assert app.cursor == (0.0, 0.0)  # hovering previews; the cursor stays
        await pilot.click(LatentMap, offset=(1 + 45, 1 + 20))
        assert app.cursor == pytest.approx(point, abs=1e-5)
        await pilot.hover("#status")  # the pointer leaves the plane: the pinned cursor's digit again
        await pilot.pause(0.05)
        np.testing.assert_array_equal(decoded(app), decode_points(session.model, np.array([app.cursor]))[0])
        assert "(pointer" not in app.query_one(StatusBar).render().plain


async def test_the_digit_follows_the_pointer_over_the_grid(session, make_app):
    app = make_app(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("g", *["comma"] * 10)  # 5×5
        await settle(app, pilot)
        grid = app.query_one(GridView)
        cell, left = grid.window.cell, (grid.size.width - round(5 * grid.window.cell)) // 2
        for row, column in [(0, 0), (2, 3), (4, 1)]:
            offset = (1 + left + int(cell * (column + 0.5)), 1 + int(cell * (row + 0.5)) // 2)
            await pilot.hover(GridView, offset=offset)
            await pilot.pause(0.05)
            point = grid.point_of(row, column)
            np.testing.assert_allclose(decoded(app), decode_points(session.model, np.array([point]))[0], atol=1e-6)


async def test_a_burst_of_pointer_motion_decodes_a_handful_of_times_ending_at_the_last_position(session, make_app):
    from textual import events

    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        decodes: list[tuple[float, float]] = []
        decode = session.decode
        session.decode = lambda point: (decodes.append(point), decode(point))[1]
        latent_map = app.query_one(LatentMap)
        region = latent_map.content_region
        positions = [(region.x + 2 + index % 40, region.y + 2 + index // 40) for index in range(200)]
        for x, y in positions:  # as the driver delivers them: all queued before the app handles the first
            app.post_message(events.MouseMove(None, x, y, 1, 0, 0, False, False, False, screen_x=x, screen_y=y))
        await pilot.pause(0.2)
        assert 1 <= len(decodes) <= 5
        last = positions[-1]
        width, height = latent_map.size
        expected = latent_map.viewport.cell_center(last[1] - region.y, last[0] - region.x, width, height)
        assert decodes[-1] == pytest.approx(expected)
        np.testing.assert_array_equal(decoded(app), decode_points(session.model, np.array([expected]))[0])


@pytest.mark.parametrize(("size", "decoded_cells", "nearest_cells"), [((80, 24), 28, 14), ((200, 60), 84, 28)])
async def test_the_digits_grow_with_the_terminal(session, make_app, size, decoded_cells, nearest_cells):
    app = make_app(session)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for name, width in (("#decoded", decoded_cells), ("#nearest", nearest_cells)):
            view = app.query_one(name, DigitView)
            lines = [view.render_line(y).text for y in range(view.size.height)]
            assert max(line.count("▀") for line in lines) == width  # a whole enlargement of 28 pixels
            assert sum("▀" in line for line in lines) == width // 2


async def test_the_reconstructions_fill_the_view(session, make_app):
    app = make_app(session)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        view = app.query_one(ReconstructionView)
        width, height = view.size
        columns, rows = width // 14, (height + 1) // 15  # half-size pairs are 14 cells wide, 14 rows and a gap tall
        assert view.image.shape == (rows * 56 + (rows - 1) * 4, columns * 28)
        lines = [view.render_line(y).text for y in range(height)]
        assert sum("▀" in line for line in lines) == rows * 14 + rows - 1
        assert str(view.border_title).startswith(f"{rows * columns} test digits")


async def test_help_lists_every_binding(session, make_app):
    from textual.widgets import Static

    app = make_app(session)
    async with app.run_test(size=(100, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = " ".join(str(static.render()) for static in app.screen.query(Static))
        for owner in (ExplorerApp, LatentMap, GridView, ReconstructionView):
            for binding in owner.BINDINGS:
                assert binding.description in text, binding
        assert "move pointer" in text and "send no motion" in text
