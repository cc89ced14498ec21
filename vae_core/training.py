"""The training loop: Adam on the negative ELBO, reported through plain events, stoppable and resumable.

``train`` starts a run, ``resume`` continues one from its resume file. Front ends pass ``on_event`` (any callable)
and a ``StopFlag`` (both in ``vae_core.events``); nothing here prints. The loop keeps the
images as uint8 on the training device, converts each batch to float, and reads losses back to the host
only a few times a second, so the GPU (or the CPU's vector units) never wait on a per-step sync. On CUDA the step
is replayed as a CUDA graph (``vae_core.graphs``).

Per epoch it measures what chooses the kept weights (the validation loss) and a cheap test figure (a fixed sample of
the test set); the whole test set is evaluated once, on the kept weights, when the run ends or stops.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from vae_core.checkpoints import (
    ResumeState,
    library_versions,
    load_resume_state,
    save_checkpoint,
    save_resume_state,
)
from vae_core.data import ImageSet, epoch_order, seeded_sample, split_train_val
from vae_core.devices import resolve_device, resolve_precision
from vae_core.errors import VaeError
from vae_core.evaluation import LossSummary, negative_elbo
from vae_core.events import (
    CheckpointSaved,
    EpochEnded,
    EpochRecorder,
    EventHandler,
    StepsDone,
    StopFlag,
    TrainEvent,
    TrainingDiverged,
    TrainResult,
    TrainStarted,
)
from vae_core.graphs import CapturedStep
from vae_core.model import VAE, VAEConfig, as_float_batch, binarize, init_output_bias, vae_loss
from vae_core.paths import resume_path_for
from vae_core.recipes import TrainConfig, learning_rate

EPOCH_TEST_IMAGES = 1000
"""Test images behind each epoch's test figure (a seeded sample, the same every epoch): a tenth of the cost of all."""
RESUME_SAVE_INTERVAL_S = 60.0
"""The resume state (21 MB) is written after the first epoch, then at the end of an epoch once this long has passed
since the last write, and whenever the run stops or ends: a crash loses at most about this much training."""


@dataclass(frozen=True)
class Run:
    """What a run is asked to do: the data, the recipe and network, where it writes and whom it tells."""

    train_set: ImageSet
    test_set: ImageSet | None
    config: TrainConfig
    model_config: VAEConfig
    device: torch.device
    out: Path | None
    on_event: EventHandler
    stop: StopFlag
    provenance: dict[str, Any]
    report_interval_s: float
    cuda_graphs: bool | None
    """None: on for CUDA devices."""
    epoch_test_images: int | None
    recorder: EpochRecorder | None = None


def _ignore(event: TrainEvent) -> None:
    """The event handler of a run nobody watches."""


def train(
    train_set: ImageSet,
    test_set: ImageSet | None,
    config: TrainConfig,
    device: torch.device | str = "cpu",
    *,
    out: Path | None = None,
    on_event: EventHandler | None = None,
    stop: StopFlag | None = None,
    model_config: VAEConfig | None = None,
    provenance: dict[str, Any] | None = None,
    report_interval_s: float = 0.25,
    recorder: EpochRecorder | None = None,
    cuda_graphs: bool | None = None,
    epoch_test_images: int | None = EPOCH_TEST_IMAGES,
) -> TrainResult:
    """Train a new VAE on ``device`` ("auto", "cpu", "cuda:N"...); with ``out`` the best weights go to ``out``,
    the resumable state beside it. Set ``stop`` to end the run after the current step: the state is saved.

    ``cuda_graphs`` (None: on for CUDA devices) replays the training step as a CUDA graph; on other devices True runs
    the same graph-ready step without capturing it. ``epoch_test_images`` sizes each epoch's test figure (None: all).
    """
    if out is not None and not Path(out).parent.is_dir():
        raise VaeError(f"cannot write {out}: directory {Path(out).parent} does not exist")
    torch_device = resolve_device(device) if isinstance(device, str) else device
    run = Run(
        train_set=train_set,
        test_set=test_set,
        config=config,
        model_config=model_config or VAEConfig(),
        device=torch_device,
        out=None if out is None else Path(out),
        on_event=on_event or _ignore,
        stop=stop or StopFlag(),
        provenance=provenance or {},
        report_interval_s=report_interval_s,
        recorder=recorder,
        cuda_graphs=cuda_graphs,
        epoch_test_images=epoch_test_images,
    )
    return Trainer(run).run()


def resume(
    checkpoint: Path,
    train_set: ImageSet,
    test_set: ImageSet | None,
    device: torch.device | str = "cpu",
    *,
    epochs: int | None = None,
    on_event: EventHandler | None = None,
    stop: StopFlag | None = None,
    provenance: dict[str, Any] | None = None,
    report_interval_s: float = 0.25,
    recorder: EpochRecorder | None = None,
    cuda_graphs: bool | None = None,
) -> TrainResult:
    """Continue the run whose resume file lies beside ``checkpoint``, with its stored recipe and network, in place;
    ``epochs`` may extend it. The same training images must be given."""
    saved = load_resume_state(checkpoint)
    if saved.train_size != len(train_set):
        raise VaeError(
            f"resume file {resume_path_for(checkpoint)} was made with {saved.train_size} training images, "
            f"not {len(train_set)}: resume with the same dataset"
        )
    # The run keeps the provenance it started with (its command above all); each resume is listed after it.
    provenance = provenance or {}
    resumes = [*saved.provenance.get("resumed_with", []), *([provenance["command"]] if "command" in provenance else [])]
    torch_device = resolve_device(device) if isinstance(device, str) else device
    run = Run(
        train_set=train_set,
        test_set=test_set,
        config=saved.config.extended_to(epochs),
        model_config=saved.model_config,
        device=torch_device,
        out=Path(checkpoint),
        on_event=on_event or _ignore,
        stop=stop or StopFlag(),
        provenance={**provenance, **saved.provenance, **({"resumed_with": resumes} if resumes else {})},
        report_interval_s=report_interval_s,
        recorder=recorder,
        cuda_graphs=cuda_graphs,
        epoch_test_images=EPOCH_TEST_IMAGES,
    )
    return Trainer(run, saved).run()


# ---- the loop -----------------------------------------------------------------------------------------------


@dataclass
class Progress:
    """The counters and history of a run: everything but tensors that changes while it trains."""

    epoch: int = 0
    step: int = 0
    best_val: float = math.inf
    best_epoch: int = 0
    stale_epochs: int = 0
    elapsed_s: float = 0.0
    history: list[EpochEnded] = field(default_factory=list)

    @classmethod
    def from_dict(cls, stored: dict[str, Any], epochs: int) -> Progress:
        """The progress as a resume file holds it, for a run of ``epochs``."""
        return cls(**(stored | {"history": [EpochEnded.from_dict(entry, epochs) for entry in stored["history"]]}))


class Trainer:
    """One run's working state, all made here: data on the device, model, averages, optimizer, noise, progress."""

    def __init__(self, run: Run, saved: ResumeState | None = None) -> None:
        self.run_spec, config, device = run, run.config, run.device
        torch.manual_seed(config.seed)
        images = run.train_set.images.reshape(len(run.train_set), -1).to(device)
        train_idx, val_idx = split_train_val(len(images), config.val_fraction, config.seed)
        if len(train_idx) == 0:
            raise VaeError("no training images left after the validation split")
        self.train_images = images[train_idx.to(device)]
        self.val_images = images[val_idx.to(device)]
        self.test_images = None if run.test_set is None else run.test_set.images.to(device)
        self.epoch_test_images = self.test_images
        if self.test_images is not None and (run.epoch_test_images or len(self.test_images)) < len(self.test_images):
            sample = seeded_sample(len(self.test_images), run.epoch_test_images, config.seed)
            self.epoch_test_images = self.test_images[sample.to(device)]
        self.model = VAE(run.model_config).to(device)
        if config.init_output_bias:
            init_output_bias(self.model, self.train_images)
        self.ema = copy.deepcopy(self.model).requires_grad_(False) if config.ema_decay > 0 else self.model
        self.best_model = copy.deepcopy(self.model).requires_grad_(False)
        graphed = device.type == "cuda" if run.cuda_graphs is None else run.cuda_graphs
        if graphed and device.type not in ("cpu", "cuda"):
            raise VaeError(f"CUDA graphs need a CUDA device, not {device}")
        # A graph-ready step reads its rates from device tensors that the trainer fills before each step.
        self.lr = torch.tensor(config.lr, device=device) if graphed else None
        self.ema_weight = torch.zeros((), device=device) if graphed else None
        self.optimizer = torch.optim.Adam(
            self.model.parameters(),
            lr=config.lr if self.lr is None else self.lr,
            weight_decay=config.weight_decay,
            betas=(0.9, config.adam_beta2),
            **({"fused": True} if device.type in ("cpu", "cuda") else {}),
            **({"capturable": True} if graphed and device.type == "cuda" else {}),
        )
        self.precision = resolve_precision(config.precision, device)
        self.noise = torch.Generator(device=device).manual_seed(config.seed + 1)
        self.steps_per_epoch = math.ceil(len(self.train_images) / config.batch_size)
        self.sums = torch.zeros(2, device=device)
        self.progress = Progress()
        # A resumed run's file already holds its state; a new run has none until it saves.
        self.unsaved = saved is None
        self.last_save = -math.inf if saved is None else time.monotonic()
        self.ema_rate = 0.0
        if saved is not None:
            self._restore(saved)
        self.step = self._step
        if graphed and device.type == "cuda":
            self.step = CapturedStep(self._step, self.noise)

    def _restore(self, saved: ResumeState) -> None:
        path = resume_path_for(self.run_spec.out)
        try:
            self.progress = Progress.from_dict(saved.progress, saved.config.epochs)
            for name, module in self.weight_sets.items():
                module.load_state_dict(saved.weights.get(name, {}))
            optimizer_state = self.optimizer.state_dict()
            optimizer_state["state"] = saved.optimizer
            self.optimizer.load_state_dict(optimizer_state)
            if self.lr is not None:
                # Loading copies the groups: point them back at the tensor the trainer fills (and a graph reads).
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr
            self.noise.set_state(saved.noise_rng)
        except (RuntimeError, KeyError, ValueError, TypeError) as error:
            raise VaeError(f"resume file {path} does not match this model: {error}") from None
        self.sums = saved.epoch_sums.to(self.run_spec.device)

    @property
    def weight_sets(self) -> dict[str, VAE]:
        """The weights a resume file keeps, by name; "ema" only where the recipe keeps an average apart."""
        return {"model": self.model, "best": self.best_model} | (
            {"ema": self.ema} if self.ema is not self.model else {}
        )

    def run(self) -> TrainResult:
        run, config, progress = self.run_spec, self.run_spec.config, self.progress
        test_size = 0 if self.test_images is None else len(self.test_images)
        run.on_event(
            TrainStarted(
                config,
                str(run.device),
                self.precision,
                len(self.train_images),
                len(self.val_images),
                test_size,
                self.steps_per_epoch,
                progress.epoch,
                progress.step,
            )
        )
        stopped: Literal["finished", "interrupted", "early-stopping"] = "finished"
        while progress.epoch < config.epochs:
            if not self._run_epoch():
                stopped = "interrupted"
                break
            self._end_epoch()
            if config.patience and progress.stale_epochs >= config.patience:
                stopped = "early-stopping"
                break
        if run.out is not None and self.unsaved:
            self._save_resume_state()
        history = progress.history
        # The whole test set, once, on the kept weights (the same seeded draw an epoch's evaluation would use).
        test = self._evaluate(self.best_model, self.test_images) if progress.best_epoch else None
        if run.out is not None and progress.best_epoch:
            # The checkpoint was written at its best epoch; now its provenance tells its test loss and the whole run.
            save_checkpoint(run.out, self.best_model, self._provenance(test))
        if run.recorder is not None:
            # Last, so a follower told the run is over finds its final checkpoint already in place.
            run.recorder.run_ended(stopped)
        return TrainResult(
            self.best_model,
            history,
            progress.best_epoch,
            test,
            stopped,
            run.out if history else None,
            None if run.out is None else resume_path_for(run.out),
        )

    def _run_epoch(self) -> bool:
        """Train the rest of the current epoch; False where a stop was requested first."""
        run, config, progress = self.run_spec, self.run_spec.config, self.progress
        order = epoch_order(len(self.train_images), config.seed, progress.epoch, run.device)
        total_steps = self.steps_per_epoch * config.epochs
        epoch_start, last_report, samples_since = time.perf_counter(), time.perf_counter(), 0
        self.model.train()
        while progress.step < self.steps_per_epoch:
            if run.stop.is_set():
                progress.elapsed_s += time.perf_counter() - epoch_start
                return False
            global_step = progress.epoch * self.steps_per_epoch + progress.step
            lr = learning_rate(global_step, total_steps, config)
            # The average's decay ramps up over the first steps so it does not cling to the random initial weights.
            ema_weight = 1 - min(config.ema_decay, (1 + global_step) / (10 + global_step))
            self._set_rates(lr, ema_weight)
            index = order[progress.step * config.batch_size : (progress.step + 1) * config.batch_size]
            self.step(index)
            progress.step += 1
            self.unsaved = True
            samples_since += len(index)
            now = time.perf_counter()
            if now - last_report >= run.report_interval_s:
                rate = samples_since / (now - last_report)
                run.on_event(
                    StepsDone(progress.epoch, progress.step, self.steps_per_epoch, self._running_loss(), rate, lr)
                )
                last_report, samples_since = now, 0
        if run.device.type == "cuda":
            torch.cuda.synchronize(run.device)  # the epoch's time includes the work still queued on the GPU
        progress.elapsed_s += time.perf_counter() - epoch_start
        return True

    def _set_rates(self, lr: float, ema_weight: float) -> None:
        """The step's learning rate and EMA weight: plain numbers, or filled into the graph-ready step's tensors."""
        if self.lr is None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.ema_rate = ema_weight
        else:
            self.lr.fill_(lr)
            self.ema_weight.fill_(ema_weight)

    def _step(self, index: torch.Tensor) -> None:
        """One optimisation step on the training images at ``index``; on CUDA this is what a graph captures."""
        config = self.run_spec.config
        graphed = self.lr is not None
        batch = self.train_images[index]
        x = as_float_batch(batch)
        # The encoder may see a binarized draw; the loss always scores the gray image x.
        seen = binarize(batch, self.noise) if config.binarize_input else x
        autocast = torch.autocast(
            self.run_spec.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16", cache_enabled=not graphed
        )
        with autocast:
            logits, mu, logvar = self.model(seen, generator=self.noise)
        terms = vae_loss(logits, x, mu, logvar)
        # A captured graph needs its gradients to stay where they are: zeroed in place, not dropped.
        self.optimizer.zero_grad(set_to_none=not graphed)
        terms.total.mean().backward()
        self.optimizer.step()
        if self.ema is not self.model:
            with torch.no_grad():
                ema, trained = list(self.ema.parameters()), list(self.model.parameters())
                # One fused lerp over all weights; a device tensor's weight goes in as one 0-d tensor per weight.
                weight = self.ema_rate if self.ema_weight is None else [self.ema_weight] * len(ema)
                torch._foreach_lerp_(ema, trained, weight)
        self.sums += torch.stack([terms.bce.sum(), terms.kl.sum()]).detach()

    def _running_loss(self) -> LossSummary:
        bce, kl = self.sums.tolist()
        count = max(1, min(self.progress.step * self.run_spec.config.batch_size, len(self.train_images)))
        summary = LossSummary(bce / count, kl / count)
        if not math.isfinite(summary.total):
            self._diverged()
        return summary

    def _diverged(self) -> None:
        out, best_epoch = self.run_spec.out, self.progress.best_epoch
        kept = f"; the last good checkpoint (epoch {best_epoch}) is kept at {out}" if out and best_epoch else ""
        raise TrainingDiverged(
            f"the loss became NaN or infinite in epoch {self.progress.epoch + 1}{kept}; "
            "try a lower --lr or --precision fp32"
        )

    def _evaluate(self, model: VAE, images: torch.Tensor | None) -> LossSummary | None:
        config = self.run_spec.config
        return negative_elbo(model, images, config.eval_batch_size, config.seed) if images is not None else None

    def _end_epoch(self) -> None:
        run, progress = self.run_spec, self.progress
        train_loss = self._running_loss()
        val = self._evaluate(self.ema, self.val_images if len(self.val_images) else None)
        if val is not None and not math.isfinite(val.total):
            self._diverged()
        test = self._evaluate(self.ema, self.epoch_test_images)
        score = val.total if val is not None else train_loss.total
        is_best = score < progress.best_val
        progress.epoch += 1
        progress.step = 0
        self.sums.zero_()
        if is_best:
            progress.best_val, progress.best_epoch, progress.stale_epochs = score, progress.epoch, 0
            self.best_model.load_state_dict(self.ema.state_dict())
        else:
            progress.stale_epochs += 1
        samples_per_s = len(self.train_images) * progress.epoch / max(progress.elapsed_s, 1e-9)
        ended = EpochEnded(
            progress.epoch, run.config.epochs, train_loss, val, test, is_best, samples_per_s, progress.elapsed_s
        )
        progress.history.append(ended)
        if run.out is not None:
            if is_best:
                # Its test loss on the whole test set is measured once, when the run ends.
                save_checkpoint(run.out, self.best_model, self._provenance(None))
                run.on_event(CheckpointSaved(run.out, "best", progress.epoch))
            if time.monotonic() - self.last_save >= RESUME_SAVE_INTERVAL_S:
                self._save_resume_state()
        if run.recorder is not None:
            run.recorder.epoch_ended(ended, self.ema)
        run.on_event(ended)

    def _provenance(self, test: LossSummary | None) -> dict[str, Any]:
        run, progress = self.run_spec, self.progress
        return {
            "dataset": run.train_set.name,
            "dataset_source": run.train_set.source,
            "train_samples": len(self.train_images),
            "val_samples": len(self.val_images),
            "epochs": progress.epoch,
            "best_epoch": progress.best_epoch,
            "recipe": run.config.to_dict(),
            "seed": run.config.seed,
            "precision": self.precision,
            "device": str(run.device),
            "test_loss": test and test.to_dict(),
            "val_loss": progress.best_val if len(self.val_images) else None,
            "train_seconds": round(progress.elapsed_s, 2),
            "versions": library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **run.provenance,
        }

    def _save_resume_state(self) -> None:
        run = self.run_spec
        assert run.out is not None
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            self._diverged()
        state = ResumeState(
            config=run.config,
            model_config=run.model_config,
            train_size=len(run.train_set),
            provenance=run.provenance,
            progress=asdict(self.progress),
            weights={name: module.state_dict() for name, module in self.weight_sets.items()},
            optimizer=self.optimizer.state_dict()["state"],
            noise_rng=self.noise.get_state(),
            epoch_sums=self.sums,
        )
        path = save_resume_state(run.out, state)
        self.unsaved, self.last_save = False, time.monotonic()
        run.on_event(CheckpointSaved(path, "resume", self.progress.epoch))
