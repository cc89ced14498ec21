"""The explorer following a run: a test plays `vae train`, replacing the checkpoint and its history by the library's
atomic saves, and the explorer shows the new epoch, moves the dots and decodes with the new weights; the training
view's curves and scrubbing; a damaged or missing history."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.test_history import synthetic_history
from vae_core.checkpoints import save_checkpoint
from vae_core.history import LOSS_SPLITS, TrainingHistory, save_history
from vae_core.images import decode_points
from vae_core.model import VAE
from vae_core.paths import history_path_for
from vae_tui.app import FOLLOW_POLL_S, ExplorerApp
from vae_tui.curves import SPLIT_NAMES
from vae_tui.session import open_session
from vae_tui.widgets.digit_view import DigitView
from vae_tui.widgets.latent_map import LatentMap
from vae_tui.widgets.status_bar import StatusBar
from vae_tui.widgets.training_view import LossPlot, TrainingView

SIZE = (100, 30)
PLANNED = 5


def epoch_saved(run: Path, epoch: int, state: str = "training") -> tuple[VAE, TrainingHistory]:
    """What `vae train` leaves after ``epoch``: a checkpoint of new weights, then the history up to that epoch."""
    torch.manual_seed(epoch)
    model = VAE().eval()
    save_checkpoint(run, model, {"dataset": "none"})
    history = replace(recorded_until(epoch), state=state)
    save_history(history_path_for(run), history)
    return model, history


def recorded_until(epochs: int) -> TrainingHistory:
    """The first ``epochs`` of a made-up 5-epoch history of 300 digits."""
    full = synthetic_history(PLANNED, 300)
    return replace(full, records=full.records[:epochs], means=full.means[:epochs])


def explorer(run: Path, follow: bool = False) -> ExplorerApp:
    return ExplorerApp(partial(open_session, run, None), export_dir=run.parent, follow=run if follow else None)


async def settle(app: ExplorerApp, pilot) -> None:
    """Wait for the checkpoint to be open (its worker starts after the first frame), then for every worker."""
    for _ in range(400):
        await pilot.pause(0.05 if app.session is None else None)
        if app.session is not None or (app.follow is not None and not app.follow.exists()):
            break
    await app.workers.wait_for_complete()
    await pilot.pause()


async def next_poll(app: ExplorerApp, pilot) -> None:
    """Wait for the follower's timer to notice the files, its worker to read them, and the screen to take them."""
    await pilot.pause(FOLLOW_POLL_S * 2.5)
    await settle(app, pilot)


def status(app: ExplorerApp) -> str:
    return app.query_one(StatusBar).render().plain


def decoded(app: ExplorerApp) -> np.ndarray:
    return app.query_one("#decoded", DigitView).image


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return tmp_path / "live" / "run.safetensors"


async def test_following_a_run_shows_each_new_epoch_and_its_weights(run):
    run.parent.mkdir()
    epoch_saved(run, 2)
    app = explorer(run, follow=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "epoch 2/5, live" in status(app)
        dots = app.query_one(LatentMap).means.copy()
        model, history = epoch_saved(run, 3)
        await next_poll(app, pilot)
        assert "epoch 3/5, live" in status(app)
        shown = app.query_one(LatentMap)
        np.testing.assert_array_equal(shown.means, history.means[2].astype(np.float32))
        np.testing.assert_array_equal(shown.labels, history.labels)
        assert not np.array_equal(shown.means, dots), "the dots must move to the new epoch's means"
        np.testing.assert_array_equal(decoded(app), decode_points(model, np.array([app.cursor], np.float32))[0])
        epoch_saved(run, 5, state="finished")
        await next_poll(app, pilot)
        assert "epoch 5/5, finished" in status(app)


async def test_a_run_still_training_is_followed_without_being_asked(run):
    run.parent.mkdir()
    epoch_saved(run, 1)
    app = explorer(run)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.following and "epoch 1/5, live" in status(app)
        epoch_saved(run, 2)
        await next_poll(app, pilot)
        assert "epoch 2/5, live" in status(app)


async def test_following_waits_for_the_first_checkpoint(run):
    run.parent.mkdir()
    app = explorer(run, follow=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(FOLLOW_POLL_S)
        assert "waiting for the first checkpoint" in status(app)
        epoch_saved(run, 1)
        await next_poll(app, pilot)
        assert app.session is not None and "epoch 1/5, live" in status(app)


async def test_a_finished_run_is_not_followed_and_shows_its_checkpoints_digits(run):
    run.parent.mkdir()
    epoch_saved(run, 5, state="finished")
    app = explorer(run)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert not app.following and "epoch 5/5, finished" in status(app)
        assert len(app.query_one(LatentMap).means) == 0  # no atlas, no test set: the history is the training view's


async def test_the_training_view_draws_the_curves_and_scrubs_the_map(run):
    run.parent.mkdir()
    _, history = epoch_saved(run, 4)
    app = explorer(run, follow=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        plot = app.query_one(LossPlot)
        text = "\n".join(plot.render_line(y).text for y in range(plot.size.height))
        assert "BCE (nats)" in text and "KL (nats)" in text and "validation" in text
        assert sum(chr(0x2801) <= c <= chr(0x28FF) for c in text) > 20, "the curves are braille dots"
        view = app.query_one(TrainingView)
        assert view.epoch == 4 and "Map at epoch 4" in str(view.query_one("#training-header").render())
        await pilot.press("left", "comma")
        assert view.epoch == 2 and "map at epoch 2" in status(app)
        for latent_map in app.query(LatentMap):  # the main map and the training view's both show epoch 2
            np.testing.assert_array_equal(latent_map.means, history.means[1].astype(np.float32))
        assert "Map at epoch 2" in str(view.query_one("#training-header").render())
        epoch_saved(run, 5)  # scrubbed back, a new epoch keeps the map where it was picked
        await next_poll(app, pilot)
        assert view.epoch == 2 and "epoch 5/5, live" in status(app)
        await pilot.press("end")
        assert view.epoch == 5 and "map at" not in status(app)
        await pilot.press("home")
        assert view.epoch == 1


async def test_a_damaged_history_is_one_notification_and_the_checkpoint_opens(run):
    run.parent.mkdir()
    epoch_saved(run, 2)
    history_path_for(run).write_bytes(history_path_for(run).read_bytes()[:200])  # cut short
    app = explorer(run)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.session is not None and app.return_code is None
        messages = [notification.message for notification in app._notifications]
        assert len(messages) == 1 and "history" in messages[0] and "\n" not in messages[0]
        await pilot.press("t")
        assert "No training history" in str(app.query_one("#training-header").render())


async def test_without_a_history_the_training_view_says_how_to_get_one(random_checkpoint):
    app = explorer(random_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        plot = app.query_one(LossPlot)
        text = " ".join(plot.render_line(y).text.strip() for y in range(plot.size.height))
        assert "No training history" in text and "vae train" in text
        await pilot.press("left")  # nothing to scrub: nothing happens
        assert app.query_one(TrainingView).epoch is None


@pytest.fixture
def trained_run(fake_sets, tmp_path: Path) -> Path:
    """A real 3-epoch run of the small model on the fake digits, with its history: curves and maps that trained."""
    from tests.test_history import recorded_run

    run = tmp_path / "trained.safetensors"
    recorded_run(fake_sets, run)
    return run


def test_training_view_120x40(snap_compare, trained_run, truecolor):
    async def on_the_training_view(pilot) -> None:
        await settle(pilot.app, pilot)
        await pilot.press("t")
        await settle(pilot.app, pilot)

    keys = ["left"]  # the map one epoch back: epoch 2 of 3
    assert snap_compare(explorer(trained_run), terminal_size=(120, 40), press=keys, run_before=on_the_training_view)


def test_the_curves_name_every_loss_split_of_the_history_in_its_order():
    assert tuple(SPLIT_NAMES) == LOSS_SPLITS
