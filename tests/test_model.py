import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_core.model import VAE, VAEConfig, reparameterize, vae_loss


@pytest.fixture
def model() -> VAE:
    torch.manual_seed(0)
    return VAE()


def test_architecture_is_the_products(model):
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    shapes = [(m.in_features, m.out_features) for m in layers]
    assert shapes == [(784, 512), (512, 512), (512, 2), (512, 2), (2, 512), (512, 512), (512, 784)]
    assert all(m.negative_slope == 0.2 for m in model.modules() if isinstance(m, torch.nn.LeakyReLU))


def test_config_is_frozen_with_defaults():
    config = VAEConfig()
    assert (config.latent_dim, config.hidden_dim) == (2, 512)
    with pytest.raises(AttributeError):
        config.latent_dim = 3  # type: ignore[misc]


def test_encode_decode_shapes_and_ranges(model):
    x = torch.rand(5, 784)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 2)
    images = model.decode(torch.randn(7, 2) * 10)
    assert images.shape == (7, 784)
    assert images.min() >= 0 and images.max() <= 1
    logits, mu2, _ = model(x)
    assert logits.shape == (5, 784) and torch.equal(mu, mu2)


def test_latent_size_follows_the_config():
    model = VAE(VAEConfig(latent_dim=5, hidden_dim=32))
    mu, _ = model.encode(torch.rand(3, 784))
    assert mu.shape == (3, 5)
    assert model.decode(torch.zeros(2, 5)).shape == (2, 784)


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(6, 2), torch.randn(6, 2)
    x = torch.rand(6, 784)
    terms = vae_loss(torch.zeros(6, 784), x, mu, logvar)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=1)
    torch.testing.assert_close(terms.kl, expected)


def test_bce_matches_the_direct_formula():
    logits, x = torch.randn(4, 784), torch.rand(4, 784)
    p = torch.sigmoid(logits)
    direct = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=1)
    terms = vae_loss(logits, x, torch.zeros(4, 2), torch.zeros(4, 2))
    torch.testing.assert_close(terms.bce, direct, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(terms.kl, torch.zeros(4))
    torch.testing.assert_close(terms.total, direct + terms.kl, rtol=1e-4, atol=1e-3)


def test_bce_on_logits_stays_finite_where_sigmoid_saturates():
    logits = torch.tensor([[200.0, -200.0]])
    x = torch.tensor([[0.0, 1.0]])
    bce = vae_loss(logits, x, torch.zeros(1, 2), torch.zeros(1, 2)).bce
    assert torch.isfinite(bce).all()
    torch.testing.assert_close(bce, torch.tensor([400.0]))


def test_gradients_flow_through_the_reparameterization():
    mu = torch.zeros(3, 2, requires_grad=True)
    logvar = torch.zeros(3, 2, requires_grad=True)
    reparameterize(mu, logvar).pow(2).sum().backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_reparameterization_samples_have_the_right_moments():
    generator = torch.Generator().manual_seed(1)
    mu, logvar = torch.full((20000, 2), 1.5), torch.full((20000, 2), 2 * torch.log(torch.tensor(0.5)))
    z = reparameterize(mu, logvar, generator)
    assert abs(z.mean().item() - 1.5) < 0.02
    assert abs(z.std().item() - 0.5) < 0.02


def test_bf16_autocast_keeps_heads_and_loss_in_fp32(model):
    x = torch.rand(4, 784)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, mu, logvar = model(x)
    assert mu.dtype == logvar.dtype == torch.float32
    assert vae_loss(logits, x, mu, logvar).total.dtype == torch.float32
