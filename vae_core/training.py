"""The training loop: Adam on the negative ELBO, reported through plain events, stoppable and resumable.

Front ends pass ``on_event`` (any callable) and a ``StopFlag``; nothing here prints. The loop keeps the
images as uint8 on the training device, converts each batch to float, and reads losses back to the host
only a few times a second, so the GPU (or the CPU's vector units) never wait on a per-step sync.
"""

from __future__ import annotations

import copy
import math
import platform
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from vae_core.checkpoints import read_tensors, save_checkpoint, write_tensors
from vae_core.data import ImageSet
from vae_core.devices import resolve_device
from vae_core.errors import VaeError
from vae_core.model import VAE, VAEConfig, as_float_batch, vae_loss
from vae_core.paths import resume_path_for

Precision = Literal["auto", "fp32", "bf16"]
COLLAPSE_KL_NATS = 0.5
"""A validation KL below this many nats per image means the latent code carries (almost) nothing."""


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe; ``RECIPES`` names the tested ones and the CLI's flags override single fields."""

    recipe: str = "custom"
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    schedule: Literal["constant", "onecycle"] = "constant"
    warmup_fraction: float = 0.3
    ema_decay: float = 0.0
    weight_decay: float = 0.0
    adam_beta2: float = 0.999
    # The encoder sees a fresh Bernoulli draw of each training image while the decoder's target stays the gray
    # image: the objective is unchanged, but the amortized posterior cannot memorise the 24,680 images (~4 nats).
    binarize_input: bool = False
    # The decoder's output bias starts at the logit of the mean training image, so step 1 need not learn it.
    init_output_bias: bool = False
    val_fraction: float = 0.1
    patience: int = 0
    seed: int = 0
    precision: Precision = "fp32"
    eval_batch_size: int = 2000

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise VaeError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise VaeError(f"learning rate must be a positive number, got {self.lr}")
        if not 0 <= self.val_fraction < 1:
            raise VaeError(f"validation fraction must be in [0, 1), got {self.val_fraction}")
        if not 0 <= self.ema_decay < 1:
            raise VaeError(f"EMA decay must be in [0, 1), got {self.ema_decay}")
        if not 0 <= self.adam_beta2 < 1:
            raise VaeError(f"Adam beta2 must be in [0, 1), got {self.adam_beta2}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RECIPES: dict[str, TrainConfig] = {
    "plain": TrainConfig(recipe="plain", epochs=30, batch_size=128, lr=1e-3, schedule="constant", precision="fp32"),
    "default": TrainConfig(
        recipe="default",
        epochs=150,
        batch_size=256,
        lr=3e-3,
        schedule="onecycle",
        warmup_fraction=0.3,
        ema_decay=0.998,
        binarize_input=True,
        init_output_bias=True,
        precision="auto",
    ),
    "fast": TrainConfig(
        recipe="fast",
        epochs=12,
        batch_size=256,
        lr=6e-3,
        schedule="onecycle",
        warmup_fraction=0.05,
        ema_decay=0.99,
        adam_beta2=0.99,
        init_output_bias=True,
        val_fraction=0.0,
        precision="auto",
    ),
}


def recipe(name: str, **overrides: Any) -> TrainConfig:
    """A named recipe with some fields replaced (``None`` values are ignored, as from unset CLI flags)."""
    if name not in RECIPES:
        raise VaeError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    return replace(RECIPES[name], **{key: value for key, value in overrides.items() if value is not None})


@dataclass(frozen=True)
class LossSummary:
    """Mean loss terms per image, in nats."""

    bce: float
    kl: float

    @property
    def total(self) -> float:
        return self.bce + self.kl

    def to_dict(self) -> dict[str, float]:
        return {"bce": self.bce, "kl": self.kl, "total": self.total}


# ---- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainStarted:
    config: TrainConfig
    device: str
    precision: str
    train_size: int
    val_size: int
    test_size: int
    steps_per_epoch: int
    start_epoch: int
    start_step: int


@dataclass(frozen=True)
class StepsDone:
    """Sent a few times a second: where the run is and the epoch's running loss so far."""

    epoch: int
    step: int
    steps_per_epoch: int
    running: LossSummary
    samples_per_s: float
    lr: float


@dataclass(frozen=True)
class EpochEnded:
    epoch: int
    epochs: int
    train: LossSummary
    val: LossSummary | None
    test: LossSummary | None
    is_best: bool
    samples_per_s: float
    elapsed_s: float

    @property
    def kl_collapsed(self) -> bool:
        """Posterior collapse: the encoder's code carries almost no information about the image."""
        return (self.val or self.train).kl < COLLAPSE_KL_NATS


@dataclass(frozen=True)
class CheckpointSaved:
    path: Path
    kind: Literal["best", "resume"]
    epoch: int


@dataclass
class TrainResult:
    model: VAE
    history: list[EpochEnded]
    best_epoch: int
    test: LossSummary | None
    stopped: Literal["finished", "interrupted", "early-stopping"]
    checkpoint: Path | None
    resume_file: Path | None


TrainEvent = TrainStarted | StepsDone | EpochEnded | CheckpointSaved
EventHandler = Callable[[TrainEvent], None]


class StopFlag:
    """Set from anywhere (a signal handler, a UI thread); the loop stops after the current step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


class TrainingDiverged(VaeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


# ---- helpers ------------------------------------------------------------------------------------------------


def resolve_precision(precision: Precision, device: torch.device) -> Literal["fp32", "bf16"]:
    """``auto`` picks bf16 only where it was measured faster for this model: CPUs with AMX.

    On GPUs the 0.6M-parameter model is bound by kernel launches, not arithmetic: on an H100 a 60,000-image epoch
    took 0.147 s in fp32 and 0.149 s under bf16 autocast at batch 1024 (0.032 s and 0.039 s at batch 4096), so
    ``auto`` keeps fp32 there; ``bf16`` can still be asked for. Without AMX, CPUs run bf16 many times slower.
    """
    if precision != "auto":
        return precision
    if device.type == "cpu" and cpu_has_amx_bf16():
        return "bf16"
    return "fp32"


def cpu_has_amx_bf16() -> bool:
    """Whether /proc/cpuinfo lists AMX bf16 tiles (Sapphire Rapids and later); False where unknown."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return any(line.startswith("flags") and " amx_bf16" in line for line in cpuinfo)
    except OSError:
        return False


def learning_rate(step: int, total_steps: int, config: TrainConfig) -> float:
    """The learning rate at a global step: constant, or one-cycle (cosine up from lr/25, cosine down to lr/1e4)."""
    if config.schedule == "constant":
        return config.lr
    warmup = max(1, round(config.warmup_fraction * total_steps))
    start, end = config.lr / 25, config.lr / 1e4
    if step < warmup:
        return _cosine(start, config.lr, step / warmup)
    return _cosine(config.lr, end, (step - warmup) / max(1, total_steps - warmup))


def _cosine(begin: float, finish: float, fraction: float) -> float:
    return finish + (begin - finish) * (1 + math.cos(math.pi * min(1.0, fraction))) / 2


def split_train_val(size: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and validation parts, a seeded shuffle so each run holds out the same images."""
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed))
    val_size = round(size * val_fraction)
    return order[val_size:], order[:val_size]


def epoch_order(size: int, seed: int, epoch: int, device: torch.device) -> torch.Tensor:
    """The shuffle of one epoch, derived from (seed, epoch) so a resumed run replays it exactly."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(size, generator=generator).to(device)


def binarize(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A Bernoulli draw of uint8 ``images`` as float [B, 784]: pixel v is 1 with probability v/255.

    Comparing with uniform bytes in 0..254 is exact for that probability and three times cheaper on a CPU than
    ``torch.bernoulli`` on the float image.
    """
    noise = torch.randint(0, 255, images.shape, dtype=torch.uint8, generator=generator, device=images.device)
    return (noise < images).reshape(len(images), -1).float()


@torch.no_grad()
def init_output_bias(model: VAE, images: torch.Tensor) -> None:
    """Set the decoder's output bias to the logit of the mean of uint8 ``images``: the mean digit from step 0."""
    mean = images.reshape(len(images), -1).float().mean(0).div_(255).clamp_(1e-3, 1 - 1e-3)
    model.decoder[-1].bias.copy_(torch.logit(mean))


@contextmanager
def seeded_evaluation(model: VAE, seed: int) -> Iterator[torch.Generator]:
    """The model in eval mode with a seeded noise generator on its device, so a figure is repeatable.

    The model's previous mode comes back afterwards, also when the evaluation fails.
    """
    was_training = model.training
    model.eval()
    try:
        yield torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    finally:
        model.train(was_training)


@torch.no_grad()
def evaluate(model: VAE, images: torch.Tensor, batch_size: int = 2000, seed: int = 0) -> LossSummary:
    """Mean negative-ELBO terms per image over uint8 ``images`` (one z sample each, seeded: repeatable)."""
    if len(images) == 0:
        raise VaeError("cannot evaluate on an empty set of images")
    with seeded_evaluation(model, seed) as generator:
        totals = torch.zeros(2, dtype=torch.float64, device=generator.device)
        for start in range(0, len(images), batch_size):
            x = as_float_batch(images[start : start + batch_size].to(generator.device))
            logits, mu, logvar = model(x, generator=generator)
            terms = vae_loss(logits, x, mu, logvar)
            totals += torch.stack([terms.bce.sum(), terms.kl.sum()]).double()
    bce, kl = (totals / len(images)).tolist()
    return LossSummary(bce, kl)


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("vae-explorer")
    except PackageNotFoundError:
        ours = "source"
    return {
        "vae-explorer": ours,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


# ---- the loop -----------------------------------------------------------------------------------------------


@dataclass
class _State:
    """Everything that changes during a run; saved whole for resuming."""

    epoch: int = 0
    step: int = 0
    sums: torch.Tensor | None = None
    best_val: float = math.inf
    best_epoch: int = 0
    stale_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0


def train(
    train_set: ImageSet,
    test_set: ImageSet | None,
    config: TrainConfig,
    device: torch.device | str = "cpu",
    out: Path | None = None,
    on_event: EventHandler | None = None,
    stop: StopFlag | None = None,
    resume: bool = False,
    model_config: VAEConfig | None = None,
    provenance: dict[str, Any] | None = None,
    report_interval_s: float = 0.25,
) -> TrainResult:
    """Train a VAE on ``device`` ("auto", "cpu", "cuda:N"...); with ``out`` the best weights go to ``out``, the
    resumable state beside it.

    With ``resume`` the run continues from ``out``'s resume file (its recipe is kept; ``config.epochs`` may
    extend it). Set ``stop`` to end the run after the current step: the state is saved for resuming.
    """
    return _Run(
        train_set,
        test_set,
        config,
        resolve_device(device) if isinstance(device, str) else device,
        out,
        on_event or (lambda _: None),
        stop,
        model_config or VAEConfig(),
        provenance or {},
        report_interval_s,
    ).run(resume)


class _Run:
    def __init__(
        self,
        train_set,
        test_set,
        config,
        device,
        out,
        emit,
        stop,
        model_config,
        provenance,
        report_interval_s,
    ):
        self.config, self.device, self.out, self.emit, self.stop = (
            config,
            device,
            out,
            emit,
            stop or StopFlag(),
        )
        self.provenance, self.report_interval_s = provenance, report_interval_s
        self.train_set, self.test_set = train_set, test_set
        self.model_config = model_config
        if out is not None and not Path(out).parent.is_dir():
            raise VaeError(f"cannot write {out}: directory {Path(out).parent} does not exist")

    def _setup(self, config: TrainConfig, model_config: VAEConfig) -> None:
        self.config = config
        torch.manual_seed(config.seed)
        images = self.train_set.images.reshape(len(self.train_set), -1).to(self.device)
        train_idx, val_idx = split_train_val(len(images), config.val_fraction, config.seed)
        if len(train_idx) == 0:
            raise VaeError("no training images left after the validation split")
        self.train_images = images[train_idx.to(self.device)]
        self.val_images = images[val_idx.to(self.device)]
        self.test_images = None if self.test_set is None else self.test_set.images.to(self.device)
        self.model = VAE(model_config).to(self.device)
        if config.init_output_bias:
            init_output_bias(self.model, self.train_images)
        self.ema = copy.deepcopy(self.model).requires_grad_(False) if config.ema_decay > 0 else self.model
        self.best_model = copy.deepcopy(self.model).requires_grad_(False)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(),
            lr=config.lr,
            weight_decay=config.weight_decay,
            betas=(0.9, config.adam_beta2),
            **({"fused": True} if self.device.type in ("cpu", "cuda") else {}),
        )
        self.precision = resolve_precision(config.precision, self.device)
        self.noise = torch.Generator(device=self.device).manual_seed(config.seed + 1)
        self.steps_per_epoch = math.ceil(len(self.train_images) / config.batch_size)
        self.state = _State(sums=torch.zeros(2, device=self.device))

    def run(self, resume: bool) -> TrainResult:
        if resume:
            self._load_resume_state()
        else:
            self._setup(self.config, self.model_config)
        config, state = self.config, self.state
        self.emit(
            TrainStarted(
                config,
                str(self.device),
                self.precision,
                len(self.train_images),
                len(self.val_images),
                0 if self.test_images is None else len(self.test_images),
                self.steps_per_epoch,
                state.epoch,
                state.step,
            )
        )
        stopped: Literal["finished", "interrupted", "early-stopping"] = "finished"
        while state.epoch < config.epochs:
            if not self._run_epoch():
                stopped = "interrupted"
                break
            self._end_epoch()
            if config.patience and state.stale_epochs >= config.patience:
                stopped = "early-stopping"
                break
        resume_file = self._save_resume_state() if self.out is not None else None
        history = [self._epoch_event(entry) for entry in state.history]
        # The best epoch's test loss was measured on these very weights (the same seeded draw) when it ended.
        test = history[state.best_epoch - 1].test if state.best_epoch else None
        if self.out is not None and 0 < state.best_epoch < state.epoch:
            # The checkpoint was written at its best epoch; its provenance should tell the whole run's length.
            save_checkpoint(self.out, self.best_model, self._provenance(test))
        return TrainResult(
            self.best_model,
            history,
            state.best_epoch,
            test,
            stopped,
            Path(self.out) if self.out is not None and history else None,
            resume_file,
        )

    def _run_epoch(self) -> bool:
        """Train the rest of the current epoch; False where a stop was requested first."""
        config, state = self.config, self.state
        order = epoch_order(len(self.train_images), config.seed, state.epoch, self.device)
        total_steps = self.steps_per_epoch * config.epochs
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")
        epoch_start, last_report, samples_since = time.perf_counter(), time.perf_counter(), 0
        self.model.train()
        while state.step < self.steps_per_epoch:
            if self.stop.is_set():
                state.elapsed_s += time.perf_counter() - epoch_start
                return False
            global_step = state.epoch * self.steps_per_epoch + state.step
            lr = learning_rate(global_step, total_steps, config)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            index = order[state.step * config.batch_size : (state.step + 1) * config.batch_size]
            batch = self.train_images[index]
            x = as_float_batch(batch)
            # The encoder may see a binarized draw; the loss always scores the gray image x.
            seen = binarize(batch, self.noise) if config.binarize_input else x
            with autocast:
                logits, mu, logvar = self.model(seen, generator=self.noise)
            terms = vae_loss(logits, x, mu, logvar)
            self.optimizer.zero_grad(set_to_none=True)
            terms.total.mean().backward()
            self.optimizer.step()
            self._update_ema(global_step)
            state.sums += torch.stack([terms.bce.sum(), terms.kl.sum()]).detach()
            state.step += 1
            samples_since += len(x)
            now = time.perf_counter()
            if now - last_report >= self.report_interval_s:
                running = self._running_loss()
                self.emit(
                    StepsDone(
                        state.epoch,
                        state.step,
                        self.steps_per_epoch,
                        running,
                        samples_since / (now - last_report),
                        lr,
                    )
                )
                last_report, samples_since = now, 0
        state.elapsed_s += time.perf_counter() - epoch_start
        return True

    def _update_ema(self, global_step: int) -> None:
        if self.ema is self.model:
            return
        # The decay ramps up over the first steps so the average does not cling to the random initial weights.
        decay = min(self.config.ema_decay, (1 + global_step) / (10 + global_step))
        with torch.no_grad():
            torch._foreach_lerp_(list(self.ema.parameters()), list(self.model.parameters()), 1 - decay)

    def _running_loss(self) -> LossSummary:
        bce, kl = self.state.sums.tolist()
        count = max(1, min(self.state.step * self.config.batch_size, len(self.train_images)))
        summary = LossSummary(bce / count, kl / count)
        if not math.isfinite(summary.total):
            self._diverged()
        return summary

    def _diverged(self) -> None:
        kept = (
            f"; the last good checkpoint (epoch {self.state.best_epoch}) is kept at {self.out}"
            if (self.out is not None and self.state.best_epoch)
            else ""
        )
        raise TrainingDiverged(
            f"the loss became NaN or infinite in epoch {self.state.epoch + 1}{kept}; "
            "try a lower --lr or --precision fp32"
        )

    def _end_epoch(self) -> None:
        config, state = self.config, self.state
        train_loss = self._running_loss()
        val = evaluate(self.ema, self.val_images, config.eval_batch_size, config.seed) if len(self.val_images) else None
        if val is not None and not math.isfinite(val.total):
            self._diverged()
        test = None
        if self.test_images is not None:
            test = evaluate(self.ema, self.test_images, config.eval_batch_size, config.seed)
        score = val.total if val is not None else train_loss.total
        is_best = score < state.best_val
        state.epoch += 1
        state.step = 0
        state.sums.zero_()
        if is_best:
            state.best_val, state.best_epoch, state.stale_epochs = score, state.epoch, 0
            self.best_model.load_state_dict(self.ema.state_dict())
        else:
            state.stale_epochs += 1
        state.history.append(
            {
                "epoch": state.epoch,
                "train": asdict(train_loss),
                "val": val and asdict(val),
                "test": test and asdict(test),
                "is_best": is_best,
                "elapsed_s": state.elapsed_s,
                "samples_per_s": len(self.train_images) * state.epoch / max(state.elapsed_s, 1e-9),
            }
        )
        if self.out is not None:
            if is_best:
                save_checkpoint(self.out, self.best_model, self._provenance(test))
                self.emit(CheckpointSaved(Path(self.out), "best", state.epoch))
            self._save_resume_state()
        self.emit(self._epoch_event(state.history[-1]))

    def _epoch_event(self, entry: dict[str, Any]) -> EpochEnded:
        def summary(value: dict[str, float] | None) -> LossSummary | None:
            return None if value is None else LossSummary(value["bce"], value["kl"])

        return EpochEnded(
            entry["epoch"],
            self.config.epochs,
            summary(entry["train"]),
            summary(entry["val"]),
            summary(entry["test"]),
            entry["is_best"],
            entry["samples_per_s"],
            entry["elapsed_s"],
        )

    def _provenance(self, test: LossSummary | None) -> dict[str, Any]:
        return {
            "dataset": self.train_set.name,
            "dataset_source": self.train_set.source,
            "train_samples": len(self.train_images),
            "val_samples": len(self.val_images),
            "epochs": self.state.epoch,
            "best_epoch": self.state.best_epoch,
            "recipe": self.config.to_dict(),
            "seed": self.config.seed,
            "precision": self.precision,
            "device": str(self.device),
            "test_loss": test and test.to_dict(),
            "val_loss": self.state.best_val if len(self.val_images) else None,
            "train_seconds": round(self.state.elapsed_s, 2),
            "versions": library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **self.provenance,
        }

    # ---- resume state ---------------------------------------------------------------------------------------

    def _save_resume_state(self) -> Path:
        path = resume_path_for(Path(self.out))
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            self._diverged()
        tensors: dict[str, torch.Tensor] = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        if self.ema is not self.model:
            tensors |= {f"ema.{k}": v for k, v in self.ema.state_dict().items()}
        tensors |= {f"best.{k}": v for k, v in self.best_model.state_dict().items()}
        for index, param_state in self.optimizer.state_dict()["state"].items():
            tensors |= {f"adam.{index}.{key}": value for key, value in param_state.items()}
        tensors["noise_rng"] = self.noise.get_state()
        tensors["epoch_sums"] = self.state.sums
        state = {k: v for k, v in asdict(self.state).items() if k != "sums"}
        write_tensors(
            path,
            tensors,
            {
                "format": "vae-explorer-resume",
                "format_version": 1,
                "train_config": self.config.to_dict(),
                "model_config": self.model.config.to_dict(),
                "state": state,
                "train_size": len(self.train_set),
                "provenance": self.provenance,
            },
        )
        self.emit(CheckpointSaved(path, "resume", self.state.epoch))
        return path

    def _load_resume_state(self) -> None:
        if self.out is None:
            raise VaeError("resuming needs the checkpoint path whose training state to continue")
        path = resume_path_for(Path(self.out))
        if not path.exists():
            raise VaeError(f"no training state to resume beside {self.out} (looked for {path})")
        tensors, meta = read_tensors(path, "resume file")
        if meta.get("format") != "vae-explorer-resume" or meta.get("format_version") != 1:
            raise VaeError(f"resume file {path} is not a vae-explorer resume file this version can read")
        try:
            train_size, stored = meta["train_size"], TrainConfig(**meta["train_config"])
            model_config, provenance = VAEConfig(**meta["model_config"]), dict(meta.get("provenance", {}))
            state = _State(sums=tensors["epoch_sums"].to(self.device), **meta["state"])
            if not all(isinstance(value, int) for value in (train_size, state.epoch, state.step, state.best_epoch)):
                raise ValueError("its image, epoch and step counts are not whole numbers")
        except KeyError as error:
            raise VaeError(f"resume file {path} is damaged or from another version: it lacks {error}") from None
        except (TypeError, ValueError, VaeError) as error:
            raise VaeError(f"resume file {path} is damaged or from another version: {error}") from None
        if train_size != len(self.train_set):
            raise VaeError(
                f"resume file {path} was made with {train_size} training images, "
                f"not {len(self.train_set)}: resume with the same dataset"
            )
        self._setup(replace(stored, epochs=max(stored.epochs, self.config.epochs)), model_config)
        # The run keeps the provenance it started with (its command above all); each resume is listed after it.
        resumes = [
            *provenance.get("resumed_with", []),
            *([self.provenance["command"]] if "command" in self.provenance else []),
        ]
        self.provenance = {**self.provenance, **provenance, **({"resumed_with": resumes} if resumes else {})}
        try:
            modules = [("model.", self.model), ("best.", self.best_model)]
            if self.ema is not self.model:
                modules.append(("ema.", self.ema))
            for prefix, module in modules:
                module.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
            optimizer_state = self.optimizer.state_dict()
            for index in optimizer_state["param_groups"][0]["params"]:
                keys = [k for k in tensors if k.startswith(f"adam.{index}.")]
                if keys:
                    optimizer_state["state"][index] = {k.split(".", 2)[2]: tensors[k] for k in keys}
            self.optimizer.load_state_dict(optimizer_state)
            self.noise.set_state(tensors["noise_rng"])
        except (RuntimeError, KeyError, ValueError) as error:
            raise VaeError(f"resume file {path} does not match this model: {error}") from None
        self.state = state
