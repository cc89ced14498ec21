import numpy as np
import pytest
import torch
from PIL import Image

from vae_core.errors import VaeError
from vae_core.images import (
    DIGIT_COLORS,
    decode_points,
    encode_means,
    grid_points,
    interpolation_frames,
    interpolation_points,
    latent_grid,
    latent_map,
    map_ticks,
    reconstruction_rows,
    save_gif,
    save_png,
    tile,
)
from vae_core.model import VAE


@pytest.fixture(scope="module")
def model() -> VAE:
    torch.manual_seed(0)
    return VAE().eval()


def test_grid_points_run_row_by_row_from_the_top_left():
    points = grid_points(3, 2.0)
    assert points.tolist()[:3] == [[-2, 2], [0, 2], [2, 2]]
    assert points.tolist()[-1] == [2, -2]


def test_grid_corner_cells_decode_the_corner_points(model):
    # One batched pass and single-point passes may round the last bit differently: compare to 1e-6.
    grid = latent_grid(model, n=15, extent=2.0)
    assert grid.shape == (420, 420)
    corners = {(0, 0): (-2, 2), (0, 14): (2, 2), (14, 0): (-2, -2), (14, 14): (2, -2)}
    for (row, col), point in corners.items():
        cell = grid[row * 28 : (row + 1) * 28, col * 28 : (col + 1) * 28]
        np.testing.assert_allclose(cell, decode_points(model, np.array([point]))[0], atol=1e-6)


def test_a_one_digit_grid_is_the_centre_of_the_range(model):
    assert grid_points(1, 2.0).tolist() == [[0.0, 0.0]]
    np.testing.assert_allclose(latent_grid(model, 1, 2.0), decode_points(model, np.array([[0.0, 0.0]]))[0], atol=1e-6)


@pytest.mark.parametrize("n", [0, 101])
def test_grid_size_is_bounded(n):
    with pytest.raises(VaeError, match="grid size must be between 1 and 100"):
        grid_points(n, 2.0)


def test_tile_pads_the_last_row():
    images = np.ones((5, 2, 3))
    tiled = tile(images, 3)
    assert tiled.shape == (4, 9)
    assert tiled[2:, 6:].sum() == 0 and tiled[:2].sum() == 18


def test_interpolation_runs_from_start_to_end(model):
    points = interpolation_points((-1, 0), (1, 2), steps=5)
    assert points[0].tolist() == [-1, 0] and points[-1].tolist() == [1, 2]
    frames = interpolation_frames(model, (-1, 0), (1, 2), steps=5)
    np.testing.assert_allclose(frames[-1], decode_points(model, np.array([[1, 2]]))[0], atol=1e-6)


def test_reconstruction_rows_put_originals_on_top(model):
    images = torch.randint(0, 256, (4, 28, 28), dtype=torch.uint8)
    rows = reconstruction_rows(model, images)
    assert rows.shape == (56, 112)
    np.testing.assert_allclose(rows[:28, :28], images[0].numpy() / 255)
    means = encode_means(model, images)
    np.testing.assert_allclose(rows[28:, 28:56], decode_points(model, means[1:2])[0], atol=1e-6)


def test_latent_map_colours_points_by_label():
    means = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    picture = latent_map(means, np.array([3, 7]), extent=2.0, size=200)
    assert picture.shape == (200, 270, 3)
    colours = {tuple(c) for c in picture.reshape(-1, 3)}
    assert DIGIT_COLORS[3] in colours and DIGIT_COLORS[7] in colours


@pytest.mark.parametrize(
    ("extent", "ticks"),
    [
        (3.0, [-3, -2, -1, 0, 1, 2, 3]),
        (3.72414, [-3, -2, -1, 0, 1, 2, 3]),  # the explorer's on-screen range: round ticks inside it
        (1.86207, [-1.5, -1, -0.5, 0, 0.5, 1, 1.5]),
        (0.13, [-0.1, -0.05, 0, 0.05, 0.1]),
        (50.0, [-40, -20, 0, 20, 40]),
    ],
)
def test_map_ticks_are_round_and_inside_the_range(extent, ticks):
    assert map_ticks(extent) == ticks


@pytest.mark.parametrize("extent", [None, 3.72414, 0.13, 50.0])
def test_latent_map_labels_stay_inside_the_picture(extent):
    rng = np.random.default_rng(0)
    picture = latent_map(rng.normal(0, 1.5, (500, 2)), rng.integers(0, 10, 500), extent=extent, size=320)
    dark = picture.sum(axis=2) < 300
    # A clipped label would leave ink on the picture's edges; the margins are sized to the longest tick label.
    assert not dark[:, 0].any() and not dark[:, -1].any() and not dark[0].any() and not dark[-1].any()


def test_png_and_gif_round_trip(tmp_path, model):
    grid = latent_grid(model, n=3)
    save_png(grid, tmp_path / "g.png", scale=2)
    with Image.open(tmp_path / "g.png") as picture:
        assert picture.size == (168, 168)
        back = np.asarray(picture)
    np.testing.assert_array_equal(back[::2, ::2], (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8))
    save_gif(interpolation_frames(model, (0, 0), (1, 1), 4), tmp_path / "walk.gif")
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 4


def test_png_into_a_missing_directory_is_a_clear_error(tmp_path, model):
    with pytest.raises(VaeError, match="does not exist"):
        save_png(latent_grid(model, n=2), tmp_path / "missing" / "g.png")
