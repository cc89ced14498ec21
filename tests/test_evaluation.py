"""The importance-weighted likelihood against cases with a known answer, and the k-NN vote."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import fake_digits
from vae_core.errors import VaeError
from vae_core.evaluation import importance_weighted_nll, knn_accuracy, negative_elbo
from vae_core.model import VAE


@pytest.fixture
def digits() -> torch.Tensor:
    return torch.from_numpy(fake_digits(24, seed=3)[0])


@pytest.fixture
def model() -> VAE:
    torch.manual_seed(0)
    return VAE()


def test_equals_the_reconstruction_term_where_z_carries_nothing(model: VAE, digits: torch.Tensor) -> None:
    # A decoder that ignores z and an encoder that returns the prior make every importance weight p(x|z):
    # the estimate is then exact, and equal to the BCE of the loss (whose KL is 0).
    with torch.no_grad():
        model.decoder[0].weight.zero_()
        for head in (model.mu_head, model.logvar_head):
            head.weight.zero_()
            head.bias.zero_()
    loss = negative_elbo(model, digits)
    assert loss.kl == pytest.approx(0, abs=1e-6)
    assert importance_weighted_nll(model, digits, samples=50) == pytest.approx(loss.bce, rel=1e-5)


def test_is_a_tighter_bound_than_the_elbo(model: VAE, digits: torch.Tensor) -> None:
    elbo = np.mean([negative_elbo(model, digits, seed=seed).total for seed in range(5)])
    assert importance_weighted_nll(model, digits, samples=200) < elbo


def test_is_repeatable_and_reports_progress(model: VAE, digits: torch.Tensor) -> None:
    reports: list[tuple[int, int]] = []
    first = importance_weighted_nll(
        model, digits, samples=40, seed=7, rows_per_pass=100, progress=lambda *r: reports.append(r)
    )
    assert importance_weighted_nll(model, digits, samples=40, seed=7) == pytest.approx(first, rel=1e-6)
    # 100 rows per pass hold 2 images of 40 samples: 12 passes, the last one at the total.
    assert reports == [(done, 24) for done in range(2, 25, 2)]


def test_more_samples_than_rows_per_pass_still_run(model: VAE, digits: torch.Tensor) -> None:
    assert np.isfinite(importance_weighted_nll(model, digits[:3], samples=300, rows_per_pass=64))


def test_leaves_the_model_in_its_mode(model: VAE, digits: torch.Tensor) -> None:
    model.train()
    importance_weighted_nll(model, digits, samples=2)
    assert model.training


@pytest.mark.parametrize(("samples", "count", "message"), [(0, 5, "at least 1"), (10, 0, "empty")])
def test_rejects_bad_input(model: VAE, digits: torch.Tensor, samples: int, count: int, message: str) -> None:
    with pytest.raises(VaeError, match=message):
        importance_weighted_nll(model, digits[:count], samples=samples)


def test_knn_separates_clusters() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[-5.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    train_labels = np.repeat(np.arange(3), 50)
    test_labels = np.repeat(np.arange(3), 10)
    train = centres[train_labels] + rng.normal(scale=0.5, size=(150, 2))
    test = centres[test_labels] + rng.normal(scale=0.5, size=(30, 2))
    assert knn_accuracy(train, train_labels, test, test_labels, chunk=7) == 1.0
    assert knn_accuracy(train, train_labels, test, (test_labels + 1) % 3) == 0.0


def test_knn_tie_goes_to_the_nearest() -> None:
    train = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [3.5, 0.0]])
    labels = np.array([7, 2, 7, 2])
    # From x=0.9 the four neighbours vote 2:2; the nearest point has label 2.
    assert knn_accuracy(train, labels, np.array([[0.9, 0.0]]), np.array([2]), neighbours=4) == 1.0
    assert knn_accuracy(train, labels, np.array([[0.1, 0.0]]), np.array([7]), neighbours=4) == 1.0


def test_knn_rejects_too_few_points() -> None:
    with pytest.raises(VaeError, match="at least 5 training points"):
        knn_accuracy(np.zeros((3, 2)), np.zeros(3), np.zeros((1, 2)), np.zeros(1))
    with pytest.raises(VaeError, match="neighbours must be at least 1"):
        knn_accuracy(np.zeros((3, 2)), np.zeros(3), np.zeros((1, 2)), np.zeros(1), neighbours=0)
