"""Figures a trained VAE is judged by: the ELBO, an importance-weighted likelihood, and k-NN accuracy of its code.

The importance-weighted estimate (Burda et al., 2016) averages ``samples`` draws from q(z|x) inside the log, so
it is a tighter bound on log p(x) than the ELBO; the k-NN accuracy says how well the 2-D code separates digits.
Every figure is seeded, so the same model gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vae_core.data import ImageSet
from vae_core.errors import VaeError
from vae_core.images import encode_means
from vae_core.model import VAE, as_float_batch, vae_loss

Progress = Callable[[int, int], None]
"""Called as ``progress(images_done, images_total)`` while an estimate runs."""
StageProgress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while :func:`evaluate_model` works through its figures."""

LOG_2PI = math.log(2 * math.pi)
KNN_NEIGHBOURS = 5
MAX_SAMPLES = 50_000
"""The most importance samples per image: all of one image's samples are decoded together (about 0.5 GB here)."""


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


@torch.inference_mode()
def negative_elbo(model: VAE, images: torch.Tensor, batch_size: int = 2000, seed: int = 0) -> LossSummary:
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


@dataclass(frozen=True)
class EvaluationReport:
    """What `vae evaluate` shows: the test loss, the likelihood estimate and the k-NN accuracy, with their sizes."""

    loss: LossSummary
    nll: float
    samples: int
    nll_images: int
    knn_accuracy: float
    neighbours: int
    train_images: int


def evaluate_model(
    model: VAE,
    train_set: ImageSet,
    test_set: ImageSet,
    samples: int = 1000,
    nll_images: int | None = None,
    seed: int = 0,
    progress: StageProgress | None = None,
) -> EvaluationReport:
    """The test set's negative ELBO, −log p(x) over its first ``nll_images`` (all where None) with ``samples``
    importance samples each, and the 5-NN accuracy of its latent means against the training set's."""
    report = progress or (lambda stage, done, total: None)
    report("test loss", 0, 1)
    loss = negative_elbo(model, test_set.images, seed=seed)
    count = min(nll_images or len(test_set), len(test_set))
    report("log-likelihood", 0, count)
    nll = importance_weighted_nll(
        model,
        test_set.images[:count],
        samples,
        seed,
        progress=lambda done, total: report("log-likelihood", done, total),
    )
    report("k-NN accuracy", 0, 1)
    accuracy = knn_accuracy(
        encode_means(model, train_set.images),
        train_set.labels.numpy(),
        encode_means(model, test_set.images),
        test_set.labels.numpy(),
        neighbours=KNN_NEIGHBOURS,
    )
    return EvaluationReport(loss, nll, samples, count, accuracy, KNN_NEIGHBOURS, len(train_set))


@torch.inference_mode()
def importance_weighted_nll(
    model: VAE,
    images: torch.Tensor,
    samples: int = 1000,
    seed: int = 0,
    rows_per_pass: int = 32768,
    progress: Progress | None = None,
) -> float:
    """Mean −log p(x) per image in nats, bounded from above with ``samples`` importance samples from q(z|x).

    Images (uint8 [N, 28, 28]) go through the decoder ``rows_per_pass`` latent samples at a time, so memory stays
    flat whatever ``samples`` is.
    """
    if samples < 1:
        raise VaeError(f"the number of importance samples must be at least 1, got {samples}")
    if samples > MAX_SAMPLES:
        raise VaeError(f"the number of importance samples can be at most {MAX_SAMPLES:,}, got {samples:,}")
    if len(images) == 0:
        raise VaeError("cannot estimate a likelihood on an empty set of images")
    with seeded_evaluation(model, seed) as generator:
        device = generator.device
        images_per_pass = max(1, rows_per_pass // samples)
        total = 0.0
        for start in range(0, len(images), images_per_pass):
            x = as_float_batch(images[start : start + images_per_pass].to(device))
            mu, logvar = model.encode(x)
            eps = torch.randn((len(x), samples, mu.shape[1]), generator=generator, device=device)
            z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps
            logits = model.decode_logits(z.flatten(0, 1)).float().view(len(x), samples, -1)
            # log p(x|z) = -BCE(logits, x) = x·logits - softplus(logits): the same Bernoulli term as the training loss,
            # written so the target is not copied once per sample.
            log_px_given_z = torch.einsum("bsp,bp->bs", logits, x) - F.softplus(logits).sum(dim=2)
            log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(dim=2)
            log_qz = -0.5 * (eps.pow(2) + logvar[:, None] + LOG_2PI).sum(dim=2)
            log_px = torch.logsumexp(log_px_given_z + log_pz - log_qz, dim=1) - math.log(samples)
            total -= log_px.double().sum().item()
            if progress is not None:
                progress(min(start + images_per_pass, len(images)), len(images))
    return total / len(images)


@torch.inference_mode()
def knn_accuracy(
    train_means: np.ndarray,
    train_labels: np.ndarray,
    test_means: np.ndarray,
    test_labels: np.ndarray,
    neighbours: int = 5,
    chunk: int = 2048,
) -> float:
    """Fraction of test points whose ``neighbours`` nearest training points (Euclidean) vote for their label.

    A tied vote goes to the tied label whose members are nearest.
    """
    if neighbours < 1:
        raise VaeError(f"the number of neighbours must be at least 1, got {neighbours}")
    if len(train_means) < neighbours or len(test_means) == 0:
        raise VaeError(f"k-NN needs at least {neighbours} training points and one test point")
    reference = torch.as_tensor(np.asarray(train_means, np.float32))
    reference_labels = torch.as_tensor(np.asarray(train_labels, np.int64))
    classes = int(max(reference_labels.max(), int(np.max(test_labels)))) + 1
    # Each vote counts 1, plus a tiny bonus for nearness that only decides ties.
    weights = 1 + 1e-3 * torch.arange(neighbours, 0, -1, dtype=torch.float32) / neighbours
    correct = 0
    for start in range(0, len(test_means), chunk):
        queries = torch.as_tensor(np.asarray(test_means[start : start + chunk], np.float32))
        nearest = torch.cdist(queries, reference).topk(neighbours, dim=1, largest=False).indices
        votes = torch.zeros(len(queries), classes).scatter_add_(
            1, reference_labels[nearest], weights.expand(len(queries), -1)
        )
        predicted = votes.argmax(dim=1).numpy()
        correct += int((predicted == np.asarray(test_labels[start : start + chunk])).sum())
    return correct / len(test_means)
