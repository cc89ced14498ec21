"""The bundled checkpoint and atlas: present, honest about their figures, and consistent with each other."""

import numpy as np
import pytest

from vae_core.atlas import load_atlas
from vae_core.checkpoints import load_checkpoint
from vae_core.data import MNIST
from vae_core.evaluation import negative_elbo
from vae_core.images import encode_means
from vae_core.paths import atlas_path_for, bundled_checkpoint_path


@pytest.fixture(scope="module")
def bundled():
    return load_checkpoint(bundled_checkpoint_path())


def test_the_bundled_checkpoint_records_how_it_was_made(bundled):
    _, info = bundled
    provenance = info.provenance
    assert info.config.latent_dim == 2 and info.config.hidden_dim == 512
    assert provenance["command"].startswith("vae train ")
    assert provenance["dataset"] == "mnist" and provenance["recipe"]["recipe"] == "default"
    assert provenance["test_loss"]["total"] <= 145.0


def test_its_recorded_test_loss_matches_a_fresh_evaluation(bundled, mnist_dir):
    model, info = bundled
    test_set = MNIST.load("test", mnist_dir, download=False)
    fresh = negative_elbo(model, test_set.images, seed=info.provenance["recipe"]["seed"])
    assert fresh.total == pytest.approx(info.provenance["test_loss"]["total"], abs=1e-3)
    assert fresh.kl == pytest.approx(info.provenance["test_loss"]["kl"], abs=1e-3)


def test_the_atlas_holds_test_digits_with_their_latent_means(bundled):
    model, _ = bundled
    atlas = load_atlas(atlas_path_for(bundled_checkpoint_path()))
    assert 1000 <= len(atlas) <= 5000
    assert set(atlas.labels.tolist()) == set(range(10))
    np.testing.assert_allclose(atlas.means, encode_means(model, atlas.images), atol=1e-5)


def test_checkpoint_and_atlas_stay_small():
    checkpoint = bundled_checkpoint_path()
    total = checkpoint.stat().st_size + atlas_path_for(checkpoint).stat().st_size
    assert total < 10 * 2**20
