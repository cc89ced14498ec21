import math

import pytest
import torch

from vae_core import devices, training
from vae_core.checkpoints import load_checkpoint
from vae_core.data import MNIST, seeded_sample
from vae_core.devices import resolve_precision
from vae_core.errors import VaeError
from vae_core.evaluation import negative_elbo
from vae_core.events import CheckpointSaved, EpochEnded, StepsDone, StopFlag, TrainingDiverged, TrainStarted
from vae_core.model import VAE, VAEConfig, binarize, init_output_bias
from vae_core.paths import resume_path_for
from vae_core.recipes import TrainConfig, learning_rate, recipe
from vae_core.training import resume, train

SMALL = VAEConfig(hidden_dim=32)


def quick(**fields) -> TrainConfig:
    base = {"epochs": 2, "batch_size": 32, "lr": 3e-3, "schedule": "onecycle", "ema_decay": 0.9, "val_fraction": 0.2}
    return TrainConfig(**(base | fields))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "epochs must be at least 1"),
        ("batch_size", -5, "batch size must be at least 1"),
        ("lr", 0.0, "learning rate must be a positive number"),
        ("lr", math.nan, "learning rate must be a positive"),
        ("adam_beta2", 1.0, r"Adam beta2 must be in \[0, 1\)"),
    ],
)
def test_config_rejects_non_positive_numbers(field, value, message):
    with pytest.raises(VaeError, match=message):
        TrainConfig(**{field: value})


def test_recipes_fill_unset_fields_only():
    config = recipe("plain", epochs=3, lr=None)
    assert (config.epochs, config.lr, config.batch_size, config.recipe) == (3, 1e-3, 128, "plain")
    with pytest.raises(VaeError, match="unknown recipe"):
        recipe("turbo")


def test_one_cycle_schedule_warms_up_then_anneals():
    config = quick(lr=1.0, warmup_fraction=0.25)
    rates = [learning_rate(step, 100, config) for step in range(100)]
    assert rates[0] == pytest.approx(1 / 25)
    assert max(rates) == pytest.approx(1.0) and rates.index(max(rates)) == 25
    assert rates[-1] < 0.001
    assert learning_rate(50, 100, quick(schedule="constant", lr=0.1)) == 0.1


def test_precision_auto_is_bf16_only_on_a_cpu_with_amx(monkeypatch):
    monkeypatch.setattr(devices, "cpu_has_amx_bf16", lambda: False)
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    monkeypatch.setattr(devices, "cpu_has_amx_bf16", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")) == "bf16"
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    # On a GPU this small model is launch-bound: bf16 was measured no faster, so auto keeps fp32 unless asked.
    assert resolve_precision("auto", torch.device("cuda")) == "fp32"
    assert resolve_precision("bf16", torch.device("cuda")) == "bf16"


def test_events_tell_the_whole_run(fake_sets, tmp_path):
    events = []
    out = tmp_path / "m.safetensors"
    result = train(*fake_sets, quick(), out=out, on_event=events.append, model_config=SMALL, report_interval_s=0)
    kinds = [type(e) for e in events]
    assert kinds[0] is TrainStarted and events[0].train_size == 160 and events[0].val_size == 40
    assert kinds.count(EpochEnded) == 2 and StepsDone in kinds
    assert {e.kind for e in events if isinstance(e, CheckpointSaved)} == {"best", "resume"}
    assert result.stopped == "finished" and len(result.history) == 2
    assert result.history[-1].test is not None and result.test is not None
    model, info = load_checkpoint(out)
    assert info.provenance["train_samples"] == 160 and info.provenance["recipe"]["epochs"] == 2
    assert info.provenance["test_loss"]["total"] == pytest.approx(result.history[result.best_epoch - 1].test.total)
    assert negative_elbo(model, fake_sets[1].images).total == pytest.approx(result.test.total)


def _stop_after(steps: int, flag: StopFlag):
    def handler(event):
        if isinstance(event, StepsDone) and event.epoch * event.steps_per_epoch + event.step >= steps:
            flag.set()

    return handler


@pytest.mark.parametrize("graph_ready", [False, True], ids=["eager", "graph-ready"])
def test_interrupted_run_resumes_to_the_same_weights_bit_for_bit(fake_sets, tmp_path, graph_ready):
    config = quick(epochs=3, binarize_input=True, init_output_bias=True)
    options = {"model_config": SMALL, "cuda_graphs": graph_ready}
    whole = train(*fake_sets, config, out=tmp_path / "whole.safetensors", **options)

    flag = StopFlag()
    out = tmp_path / "split.safetensors"
    first = train(*fake_sets, config, out=out, on_event=_stop_after(7, flag), stop=flag, report_interval_s=0, **options)
    assert first.stopped == "interrupted" and resume_path_for(out).exists()
    second = resume(out, *fake_sets, cuda_graphs=graph_ready)
    assert second.stopped == "finished" and len(second.history) == 3
    for a, b in zip(whole.model.state_dict().values(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [e.test for e in whole.history] == [e.test for e in second.history]


def test_resume_can_extend_a_finished_run(fake_sets, tmp_path):
    out = tmp_path / "m.safetensors"
    train(*fake_sets, quick(epochs=1), out=out, model_config=SMALL)
    more = resume(out, *fake_sets, epochs=2)
    assert [e.epoch for e in more.history] == [1, 2]


def test_resume_without_state_is_a_clear_error(fake_sets, tmp_path):
    with pytest.raises(VaeError, match="no training state to resume"):
        resume(tmp_path / "none.safetensors", *fake_sets)


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(fake_sets, tmp_path, monkeypatch):
    out = tmp_path / "m.safetensors"
    train(*fake_sets, quick(epochs=1), out=out, model_config=SMALL)
    good = out.read_bytes()
    real_loss, calls = training.vae_loss, {"n": 0}

    def poisoned(*args):
        calls["n"] += 1
        terms = real_loss(*args)
        if calls["n"] > 2:  # the third training step of the resumed epoch 2
            terms.bce = terms.bce * math.nan
        return terms

    monkeypatch.setattr(training, "vae_loss", poisoned)
    with pytest.raises(TrainingDiverged, match="NaN or infinite in epoch 2; the last good checkpoint"):
        resume(out, *fake_sets, epochs=3, report_interval_s=0)
    assert out.read_bytes() == good


@pytest.mark.slow
def test_a_short_run_on_mnist_lowers_the_test_loss(mnist_dir):
    train_set = MNIST.load("train", mnist_dir, download=False).subset(4000)
    test_set = MNIST.load("test", mnist_dir, download=False).subset(2000)
    torch.manual_seed(0)
    from vae_core.model import VAE

    before = negative_elbo(VAE(), test_set.images)
    result = train(train_set, test_set, recipe("fast", epochs=2, precision="fp32"))
    assert result.test.total < before.total - 200
    assert result.test.total < 250


def test_a_resumed_run_keeps_its_first_command_and_lists_the_resume(fake_sets, tmp_path):
    out = tmp_path / "m.safetensors"
    train(*fake_sets, quick(epochs=1), out=out, model_config=SMALL, provenance={"command": "vae train first"})
    resume(out, *fake_sets, epochs=2, provenance={"command": "vae train --resume"})
    _, info = load_checkpoint(out)
    assert info.provenance["command"] == "vae train first"
    assert info.provenance["resumed_with"] == ["vae train --resume"]


def test_device_names_are_resolved_like_the_cli_does(fake_sets):
    result = train(*fake_sets, quick(epochs=1), device="auto", model_config=SMALL)
    assert next(result.model.parameters()).device.type in ("cpu", "cuda", "mps")
    with pytest.raises(VaeError, match="unknown device 'banana'"):
        train(*fake_sets, quick(epochs=1), device="banana", model_config=SMALL)


def test_evaluation_puts_the_model_back_in_its_mode_even_when_it_fails():
    from vae_core.model import VAE

    model = VAE(SMALL).train()
    negative_elbo(model, torch.zeros(3, 28, 28, dtype=torch.uint8))
    assert model.training
    with pytest.raises(RuntimeError):
        negative_elbo(model, torch.zeros(3, 20, 20, dtype=torch.uint8))
    assert model.training


def test_binarize_sets_each_pixel_with_the_probability_of_its_gray_level():
    levels = torch.tensor([0, 1, 64, 128, 254, 255, 7], dtype=torch.uint8)  # 7 pixels: draws do not align with rows
    draws = binarize(levels.repeat(100_000, 1), torch.Generator().manual_seed(0))
    assert draws.shape == (100_000, 7) and draws.dtype == torch.float32
    assert set(draws.unique().tolist()) == {0.0, 1.0}
    assert draws[:, 0].sum() == 0 and bool(draws[:, 5].all())
    expected = torch.tensor([0, 1 / 256, 64 / 256, 128 / 256, 254 / 256, 1, 7 / 256])
    assert torch.allclose(draws.mean(0), expected, atol=0.004)  # 4 standard errors at p = 1/2
    assert torch.allclose(expected, levels / 255, atol=0.004)


def test_binarize_draws_fresh_noise_each_call_and_the_same_from_the_same_seed():
    images = torch.full((4096, 784), 128, dtype=torch.uint8)
    first, second = (binarize(images, generator) for generator in [torch.Generator().manual_seed(3)] * 2)
    assert not torch.equal(first, second)
    assert torch.equal(first, binarize(images, torch.Generator().manual_seed(3)))
    # Every byte of each 32-bit draw is used: no column is stuck or copies its neighbour.
    assert all(0.46 < column.mean() < 0.54 for column in first.T[:8])
    assert not torch.equal(first[:, 0], first[:, 1])


def test_the_encoder_sees_binarized_images_while_the_loss_targets_the_gray_ones(fake_sets, monkeypatch):
    encoder_inputs, loss_targets = [], []
    real_encode, real_loss = VAE.encode, training.vae_loss

    def encode(model, x):
        if torch.is_grad_enabled():
            encoder_inputs.append(x)
        return real_encode(model, x)

    def loss(logits, x, mu, logvar):
        if torch.is_grad_enabled():
            loss_targets.append(x)
        return real_loss(logits, x, mu, logvar)

    monkeypatch.setattr(VAE, "encode", encode)
    monkeypatch.setattr(training, "vae_loss", loss)
    train(*fake_sets, quick(epochs=1, binarize_input=True), model_config=SMALL)
    assert encoder_inputs and len(encoder_inputs) == len(loss_targets)
    for seen, target in zip(encoder_inputs, loss_targets, strict=True):
        assert set(seen.unique().tolist()) == {0.0, 1.0}
        assert ((target > 0) & (target < 1)).any()
    # Without the option the encoder trains on the gray images themselves.
    encoder_inputs.clear()
    train(*fake_sets, quick(epochs=1), model_config=SMALL)
    assert encoder_inputs and all(((x > 0) & (x < 1)).any() for x in encoder_inputs)


def test_the_output_bias_starts_the_decoder_at_the_mean_image(fake_sets):
    images = fake_sets[0].images
    torch.manual_seed(0)
    plain = VAE(SMALL)
    started = VAE(SMALL)
    started.load_state_dict(plain.state_dict())
    init_output_bias(started, images)
    mean = images.reshape(len(images), -1).float().mean(0) / 255
    assert torch.allclose(torch.sigmoid(started.decoder[-1].bias), mean.clamp(1e-3, 1 - 1e-3), atol=1e-5)
    assert negative_elbo(started, images).bce < negative_elbo(plain, images).bce - 50


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_default_recipe_trains_on_cuda_and_its_checkpoint_evaluates_alike_on_cpu(fake_sets, tmp_path):
    out = tmp_path / "gpu.safetensors"
    result = train(*fake_sets, recipe("default", epochs=3, batch_size=32), "cuda", out=out, model_config=SMALL)
    losses = [event.test.total for event in result.history]
    assert all(math.isfinite(loss) for loss in losses) and losses[-1] < losses[0]
    model, info = load_checkpoint(out, "cpu")
    on_cpu = negative_elbo(model, fake_sets[1].images).total
    # Same weights, other noise draws (the CPU's generator, not the GPU's): equal up to sampling noise.
    assert on_cpu == pytest.approx(info.provenance["test_loss"]["total"], abs=2.0)


def test_the_checkpoint_tells_the_whole_run_when_its_best_epoch_came_earlier(fake_sets, tmp_path, monkeypatch):
    real_evaluate, val_losses = training.negative_elbo, iter([5.0, 4.0, 6.0])  # epoch 2 is the best by validation

    def evaluate(model, images, *args):
        if len(images) == 40:  # the validation split of 200 fake training images
            return training.LossSummary(next(val_losses), 0.0)
        return real_evaluate(model, images, *args)

    monkeypatch.setattr(training, "negative_elbo", evaluate)
    out = tmp_path / "m.safetensors"
    result = train(*fake_sets, quick(epochs=3), out=out, model_config=SMALL)
    model, info = load_checkpoint(out)
    assert (result.best_epoch, info.provenance["best_epoch"], info.provenance["epochs"]) == (2, 2, 3)
    assert info.provenance["val_loss"] == 4.0
    assert info.provenance["test_loss"]["total"] == pytest.approx(result.test.total)
    assert real_evaluate(model, fake_sets[1].images).total == pytest.approx(result.test.total)
    for saved, best in zip(model.state_dict().values(), result.model.state_dict().values(), strict=True):
        assert torch.equal(saved, best)


def test_without_a_validation_split_no_validation_loss_is_recorded(fake_sets, tmp_path):
    out = tmp_path / "m.safetensors"
    train(*fake_sets, quick(epochs=1, val_fraction=0.0), out=out, model_config=SMALL)
    _, info = load_checkpoint(out)
    assert info.provenance["val_samples"] == 0 and info.provenance["val_loss"] is None


def _record_resume_saves(monkeypatch) -> list[tuple[int, int]]:
    written, real_save = [], training.save_resume_state

    def save(checkpoint, state):
        written.append((state.progress["epoch"], state.progress["step"]))
        return real_save(checkpoint, state)

    monkeypatch.setattr(training, "save_resume_state", save)
    return written


def test_a_run_writes_its_resume_state_after_its_first_epoch_then_every_interval_and_at_its_end(
    fake_sets, tmp_path, monkeypatch
):
    written, events = _record_resume_saves(monkeypatch), []
    train(*fake_sets, quick(epochs=3), out=tmp_path / "m.safetensors", on_event=events.append, model_config=SMALL)
    assert written == [(1, 0), (3, 0)]  # a short run: epoch 2 ended well within the interval
    assert [e.epoch for e in events if isinstance(e, CheckpointSaved) and e.kind == "resume"] == [1, 3]
    written.clear()
    monkeypatch.setattr(training, "RESUME_SAVE_INTERVAL_S", 0.0)
    train(*fake_sets, quick(epochs=3), out=tmp_path / "n.safetensors", model_config=SMALL)
    assert written == [(1, 0), (2, 0), (3, 0)]


def test_an_interrupted_run_writes_its_resume_state_where_it_stopped(fake_sets, tmp_path, monkeypatch):
    written, flag = [], StopFlag()
    real_save = training.save_resume_state
    monkeypatch.setattr(
        training, "save_resume_state", lambda *args: written.append(args[1].progress) or real_save(*args)
    )
    train(*fake_sets, quick(), out=tmp_path / "m.safetensors", on_event=_stop_after(7, flag), stop=flag,
          model_config=SMALL, report_interval_s=0)  # fmt: skip
    assert [(p["epoch"], p["step"]) for p in written] == [(1, 0), (1, 2)]  # 5 steps an epoch: stopped at step 7


def test_resume_continues_the_stored_recipe_and_network(fake_sets, tmp_path):
    out = tmp_path / "m.safetensors"
    stored = quick(epochs=1, lr=2e-3, seed=4)
    train(*fake_sets, stored, out=out, model_config=SMALL)
    result = resume(out, *fake_sets, epochs=2)
    _, info = load_checkpoint(out)
    assert info.config == SMALL and result.model.config == SMALL
    assert info.provenance["recipe"] == stored.to_dict() | {"epochs": 2}
    # A shorter length keeps the stored one; a length below 1 is refused like any recipe's.
    assert [e.epoch for e in resume(out, *fake_sets, epochs=1).history] == [1, 2]
    with pytest.raises(VaeError, match="epochs must be at least 1, got 0"):
        resume(out, *fake_sets, epochs=0)


def test_resume_with_other_training_images_is_refused(fake_sets, tmp_path):
    out = tmp_path / "m.safetensors"
    train(*fake_sets, quick(epochs=1), out=out, model_config=SMALL)
    with pytest.raises(VaeError, match="was made with 200 training images, not 150: resume with the same dataset"):
        resume(out, fake_sets[0].subset(150), fake_sets[1])


def test_the_history_survives_a_resume_as_typed_records(fake_sets, tmp_path):
    out = tmp_path / "m.safetensors"
    first = train(*fake_sets, quick(epochs=1), out=out, model_config=SMALL)
    second = resume(out, *fake_sets, epochs=2)
    assert second.history[0] == first.history[0] and isinstance(second.history[1], EpochEnded)


def test_each_epoch_tests_a_fixed_sample_and_the_run_the_whole_test_set_once(fake_sets, tmp_path):
    out = tmp_path / "m.safetensors"
    config = quick(epochs=3)
    result = train(*fake_sets, config, out=out, model_config=SMALL, epoch_test_images=30)
    test_images = fake_sets[1].images
    sample = test_images[seeded_sample(len(test_images), 30, config.seed)]
    kept = result.history[result.best_epoch - 1].test
    assert kept.total == pytest.approx(negative_elbo(result.model, sample, config.eval_batch_size, config.seed).total)
    whole = negative_elbo(result.model, test_images, config.eval_batch_size, config.seed)
    assert result.test == whole and kept != whole
    assert load_checkpoint(out)[1].provenance["test_loss"] == whole.to_dict()


def _losses(result) -> list[float]:
    return [value for event in result.history for value in (event.train.total, event.val.total, event.test.total)]


@pytest.mark.parametrize("recipe_name", ["default", "fast"])
def test_the_graph_ready_step_trains_like_the_eager_one(fake_sets, recipe_name):
    config = recipe(recipe_name, epochs=2, batch_size=32, val_fraction=0.2)
    eager = train(*fake_sets, config, model_config=SMALL, cuda_graphs=False)
    graph_ready = train(*fake_sets, config, model_config=SMALL, cuda_graphs=True)
    # The same steps; only the learning rate differs, held as a float32 tensor instead of a Python float.
    assert _losses(graph_ready) == pytest.approx(_losses(eager), rel=1e-5)
    for a, b in zip(eager.model.parameters(), graph_ready.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@cuda_only
def test_cuda_graphs_train_like_the_eager_cuda_step(fake_sets):
    config = recipe("default", epochs=2, batch_size=32)
    eager = train(*fake_sets, config, "cuda", model_config=SMALL, cuda_graphs=False)
    graphed = train(*fake_sets, config, "cuda", model_config=SMALL)
    assert _losses(graphed) == pytest.approx(_losses(eager), rel=1e-4)


@cuda_only
@pytest.mark.parametrize("recipe_name", ["default", "fast"])
def test_an_interrupted_cuda_run_resumes_to_the_same_weights_bit_for_bit(fake_sets, tmp_path, recipe_name):
    config = recipe(recipe_name, epochs=3, batch_size=32, val_fraction=0.1)
    whole = train(*fake_sets, config, "cuda", out=tmp_path / "whole.safetensors", model_config=SMALL)
    flag, out = StopFlag(), tmp_path / "split.safetensors"
    first = train(*fake_sets, config, "cuda", out=out, on_event=_stop_after(8, flag), stop=flag, model_config=SMALL,
                  report_interval_s=0)  # fmt: skip
    assert first.stopped == "interrupted"
    second = resume(out, *fake_sets, "cuda")
    for a, b in zip(whole.model.state_dict().values(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [e.test for e in whole.history] == [e.test for e in second.history]
