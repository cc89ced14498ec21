"""The training history: what a run records, how a resumed run continues it, how a damaged file is refused, how a
follower notices a rewrite, and the CLI's --no-history and export-map --animate."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import ok
from tests.test_cli import fails
from tests.test_training import SMALL, quick
from vae_core.atlas import ATLAS_DIGITS, atlas_sample, build_atlas
from vae_core.checkpoints import load_checkpoint, read_tensors, write_tensors
from vae_core.data import MNIST
from vae_core.errors import VaeError
from vae_core.evaluation import LossSummary
from vae_core.events import EpochEnded, StopFlag
from vae_core.history import (
    HistoryFollower,
    HistoryRecorder,
    TrainingHistory,
    load_history,
    save_history,
)
from vae_core.images import encode_means
from vae_core.model import VAE
from vae_core.paths import history_path_for
from vae_core.training import resume, train


def recorded_run(sets, out: Path):
    """Train the tiny model for 3 epochs with a history beside ``out``; the result and the history."""
    recorder = HistoryRecorder(history_path_for(out), sets[1])
    result = train(*sets, quick(epochs=3), out=out, model_config=SMALL, recorder=recorder)
    return result, load_history(history_path_for(out))


def synthetic_history(epochs: int, digits: int, planned: int | None = None) -> TrainingHistory:
    """A history as a run of ``epochs`` would leave it, made without training."""
    rng = np.random.default_rng(0)
    records = tuple(
        EpochEnded(
            epoch, planned or epochs, LossSummary(150.0 - epoch, 5.0), None, LossSummary(151.0, 5.5), True, 9e3, epoch
        )
        for epoch in range(1, epochs + 1)
    )
    means = rng.normal(size=(epochs, digits, 2)).astype(np.float16)
    indices = np.arange(digits, dtype=np.int64)
    return TrainingHistory(records, means, indices % 10, indices, planned or epochs, "finished", "synthetic")


# ---- what a run records ---------------------------------------------------------------------------------------


def test_a_three_epoch_run_records_each_epoch_and_its_map(fake_sets, tmp_path):
    out = tmp_path / "m.safetensors"
    result, history = recorded_run(fake_sets, out)
    test_set = fake_sets[1]
    assert history.records == tuple(result.history)  # the very EpochEnded events, every field
    assert [r.epoch for r in history.records] == [1, 2, 3]
    assert history.means.shape == (3, len(test_set), 2) and history.means.dtype == np.float16
    chosen = atlas_sample(len(test_set))
    np.testing.assert_array_equal(history.sample_indices, chosen.numpy())
    np.testing.assert_array_equal(history.labels, test_set.labels[chosen].numpy())
    # The best epoch's map is the checkpoint's own encoding of those digits (to float16's precision).
    model, _ = load_checkpoint(out)
    best = encode_means(model, test_set.images[chosen])
    np.testing.assert_allclose(history.means[result.best_epoch - 1], best, rtol=2e-3, atol=2e-3)
    assert not np.array_equal(history.means[0], history.means[2]), "the map must change as the model trains"
    assert (history.state, history.epochs_planned, history.status()) == ("finished", 3, "epoch 3/3, finished")
    epochs, bce, kl = history.loss_curve("val")
    np.testing.assert_array_equal(epochs, [1, 2, 3])
    np.testing.assert_array_equal(bce + kl, [r.val.total for r in result.history])


def test_the_history_holds_the_atlas_digits_of_real_mnist(mnist_dir, tmp_path):
    out = tmp_path / "m.safetensors"
    ok("train", "--recipe", "fast", "--epochs", 2, "--limit", 1000, "--data-dir", mnist_dir, "--out", out)
    history = load_history(history_path_for(out))
    test_set = MNIST.load("test", mnist_dir, download=False)
    model, _ = load_checkpoint(out)
    atlas = build_atlas(model, test_set, ATLAS_DIGITS)
    assert history.means.shape == (2, ATLAS_DIGITS, 2)
    np.testing.assert_array_equal(history.labels, atlas.labels.numpy())
    best = [r.epoch for r in history.records if r.is_best][-1]
    np.testing.assert_allclose(history.means[best - 1], atlas.means, rtol=2e-3, atol=2e-3)


def test_a_150_epoch_history_of_3000_digits_stays_under_2_mb(tmp_path):
    path = tmp_path / "m.history.safetensors"
    save_history(path, synthetic_history(150, ATLAS_DIGITS))
    assert 1.8e6 < path.stat().st_size < 2e6
    assert len(load_history(path).records) == 150


# ---- resuming -------------------------------------------------------------------------------------------------


def test_a_resumed_run_continues_the_history_and_trains_exactly_as_without_one(fake_sets, tmp_path):
    plain = train(*fake_sets, quick(epochs=3), out=tmp_path / "plain.safetensors", model_config=SMALL)
    _, unbroken = recorded_run(fake_sets, tmp_path / "unbroken.safetensors")

    out = tmp_path / "m.safetensors"
    stop = StopFlag()

    def stop_after_epoch_2(event: object) -> None:
        if isinstance(event, EpochEnded) and event.epoch == 2:
            stop.set()

    recorder = HistoryRecorder(history_path_for(out), fake_sets[1])
    train(
        *fake_sets,
        quick(epochs=3),
        out=out,
        model_config=SMALL,
        on_event=stop_after_epoch_2,
        stop=stop,
        recorder=recorder,
    )
    stopped = load_history(history_path_for(out))
    assert [r.epoch for r in stopped.records] == [1, 2] and stopped.status() == "epoch 2/3, interrupted"
    # A history ahead of the resume file (another run at the same path went further) loses the epochs it redoes.
    ahead = TrainingHistory(
        (*stopped.records, unbroken.records[2]),
        np.concatenate([stopped.means, np.zeros_like(stopped.means[:1])]),
        stopped.labels,
        stopped.sample_indices,
        3,
        "training",
        stopped.source,
    )
    save_history(history_path_for(out), ahead)

    resumed = resume(out, *fake_sets, recorder=HistoryRecorder(history_path_for(out), fake_sets[1]))
    history = load_history(history_path_for(out))
    assert [r.epoch for r in history.records] == [1, 2, 3] and history.state == "finished"
    assert history.records[:2] == stopped.records
    np.testing.assert_array_equal(history.means, unbroken.means)  # epoch 3 re-recorded, bit for bit
    for a, b in zip(resumed.model.state_dict().values(), plain.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), "recording the history must not change the training"
    assert [r.test for r in history.records] == [r.test for r in plain.history]


def test_a_history_that_cannot_be_continued_is_started_afresh(fake_sets, tmp_path):
    path = tmp_path / "m.history.safetensors"
    path.write_bytes(b"not a history")
    event = EpochEnded(5, 10, LossSummary(150.0, 5.0), None, None, True, 1e3, 1.0)
    HistoryRecorder(path, fake_sets[1]).epoch_ended(event, VAE(SMALL))
    history = load_history(path)
    assert history.records == (event,) and history.status() == "epoch 5/10, still training"


# ---- damaged files --------------------------------------------------------------------------------------------


def rewritten(path: Path, tensors: dict | None = None, metadata: dict | None = None) -> Path:
    """The history at ``path`` rewritten with some tensors or metadata entries replaced (None: removed)."""
    stored, stored_meta = read_tensors(path, "history")
    stored = {k: v for k, v in (stored | (tensors or {})).items() if v is not None}
    stored_meta = {k: v for k, v in (stored_meta | (metadata or {})).items() if v is not None}
    write_tensors(path, stored, stored_meta)
    return path


DAMAGE = {
    "a foreign format": ({}, {"format": "vae-explorer"}, "not a vae-explorer history"),
    "a newer version": ({}, {"format_version": 2}, "format version 2"),
    "a run state it does not know": ({}, {"state": "done"}, "run state is 'done'"),
    "epochs planned as text": ({}, {"epochs_planned": "150"}, "epochs planned is '150'"),
    "epochs planned as a boolean": ({}, {"epochs_planned": True}, "epochs planned is True"),
    "a huge source text": ({}, {"source": "x" * 5000}, "source is not a short text"),
    "a missing tensor": ({"labels": None}, {}, "it holds"),
    "an extra tensor": ({"extra": torch.zeros(1)}, {}, "it holds"),
    "float32 means": ({"means": torch.zeros(3, 10, 2)}, {}, "means is torch.float32"),
    "means for fewer epochs": ({"means": torch.zeros(2, 10, 2, dtype=torch.float16)}, {}, "means have shape"),
    "labels of another length": ({"labels": torch.zeros(9, dtype=torch.int64)}, {}, "labels has shape"),
    "epochs out of order": ({"epoch": torch.tensor([1, 3, 2])}, {}, "do not increase from 1"),
    "an epoch beyond the plan": ({"epochs": torch.tensor([3, 3, 99])}, {}, "exceeds the 3 epochs planned"),
    "NaN means": ({"means": torch.full((3, 10, 2), math.nan, dtype=torch.float16)}, {}, "not finite"),
    "a half-missing loss": ({"test": torch.tensor([[1.0, math.nan]] * 3, dtype=torch.float64)}, {}, "partly missing"),
    "negative labels": ({"labels": -torch.ones(10, dtype=torch.int64)}, {}, "out of range"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_history_is_one_line_naming_the_file(tmp_path, damage):
    tensors, metadata, message = DAMAGE[damage]
    path = tmp_path / "m.history.safetensors"
    save_history(path, synthetic_history(3, 10))
    rewritten(path, tensors, metadata)
    with pytest.raises(VaeError, match="damaged") as raised:
        load_history(path)
    assert message in str(raised.value) and str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_a_truncated_or_oversized_history_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "m.history.safetensors"
    save_history(path, synthetic_history(3, 10))
    whole = path.read_bytes()
    for cut in (4, 100, len(whole) - 7):
        path.write_bytes(whole[:cut])
        with pytest.raises(VaeError, match="damaged or not a safetensors file"):
            load_history(path)
    path.write_bytes(whole)
    monkeypatch.setattr("vae_core.history.MAX_HISTORY_BYTES", len(whole) - 1)
    with pytest.raises(VaeError, match="larger than"):
        load_history(path)


# ---- following a run ------------------------------------------------------------------------------------------


def test_a_follower_reads_the_file_only_when_it_is_replaced(tmp_path):
    path = tmp_path / "m.history.safetensors"
    follower = HistoryFollower(path)
    assert follower.poll() is None and follower.history is None
    save_history(path, synthetic_history(1, 10, planned=5))
    first = follower.poll()
    assert first is not None and first.status() == "epoch 1/5, finished"
    assert follower.poll() is None and follower.history is first
    save_history(path, synthetic_history(2, 10, planned=5))
    assert follower.poll().last_epoch == 2
    path.write_bytes(b"garbage")
    with pytest.raises(VaeError, match="damaged"):
        follower.poll()
    assert follower.poll() is None, "a damaged file is reported once, then waited out"


# ---- the command line -----------------------------------------------------------------------------------------


def test_vae_train_keeps_a_history_unless_told_not_to(idx_dir, tmp_path):
    out = tmp_path / "m.safetensors"
    ok("train", "--recipe", "fast", "--epochs", 2, "--data-dir", idx_dir, "--out", out)
    assert [r.epoch for r in load_history(history_path_for(out)).records] == [1, 2]
    assert "none" not in info_row(out, "history")
    ok("train", "--resume", out, "--epochs", 3, "--data-dir", idx_dir)
    assert [r.epoch for r in load_history(history_path_for(out)).records] == [1, 2, 3]

    bare = tmp_path / "bare.safetensors"
    ok("train", "--recipe", "fast", "--epochs", 1, "--data-dir", idx_dir, "--out", bare, "--no-history")
    assert bare.is_file() and not history_path_for(bare).exists()
    assert "none" in info_row(bare, "history")


def info_row(checkpoint: Path, label: str) -> str:
    """The first line of `vae info`'s row ``label`` (long paths fold onto more lines)."""
    return next(line for line in ok("info", checkpoint).stdout.splitlines() if line.startswith(f"│ {label} "))


def test_export_map_animate_writes_one_frame_per_epoch(idx_dir, tmp_path):
    out = tmp_path / "m.safetensors"
    ok("train", "--recipe", "fast", "--epochs", 3, "--data-dir", idx_dir, "--out", out)
    gif = tmp_path / "map.gif"
    result = ok("export-map", "--animate", gif, "--checkpoint", out, "--size", 300, "--frame-ms", 100)
    assert "3 epochs of 100 test digits, epoch 3/3, finished" in result.stdout
    with Image.open(gif) as picture:
        assert (picture.n_frames, picture.size) == (3, (370, 300))  # the legend adds 70 pixels
        frames = []
        for index in range(picture.n_frames):
            picture.seek(index)
            frames.append(np.asarray(picture.convert("RGB")))
            assert picture.info["duration"] == (2000 if index == 2 else 100)
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", [], "no training history beside the checkpoint"),
        ("truncated", [], "is damaged or not a safetensors file"),
        ("good", ["--frame-ms", 5], "a frame lasts 20 to 10,000 ms"),
    ],
)
def test_export_map_animate_fails_in_one_line(random_checkpoint, tmp_path, setup, args, message):
    history = history_path_for(random_checkpoint)
    if setup != "none":
        save_history(history, synthetic_history(2, 10))
    if setup == "truncated":
        history.write_bytes(history.read_bytes()[:-100])
    assert message in fails("export-map", "--animate", tmp_path / "a.gif", "-c", random_checkpoint, *args)


def test_export_map_wants_a_gif_with_animate_and_a_png_without(random_checkpoint, tmp_path):
    assert "must end in .gif" in fails("export-map", "--animate", tmp_path / "a.png", "-c", random_checkpoint)
    assert "must end in .png" in fails("export-map", tmp_path / "a.gif", "-c", random_checkpoint)
