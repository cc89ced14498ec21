"""The VAE of the product and its loss: a 2-D latent, BCE over pixels plus the analytic KL to N(0, I)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.errors import VaeError

PIXELS = 28 * 28


@dataclass(frozen=True)
class VAEConfig:
    """Everything needed to rebuild the network; stored in every checkpoint."""

    latent_dim: int = 2
    hidden_dim: int = 512
    input_dim: int = PIXELS

    def __post_init__(self) -> None:
        for name, value in self.to_dict().items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise VaeError(f"{name.replace('_', ' ')} must be a whole number of at least 1, got {value!r}")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class LossTerms:
    """Per-image loss terms in nats, each of shape [batch], always fp32."""

    bce: torch.Tensor
    kl: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return self.bce + self.kl


class VAE(nn.Module):
    """Encoder 784→512→512 with two heads (mu, log-variance); decoder 2→512→512→784 with a sigmoid output."""

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = config or VAEConfig()
        c = self.config
        self.encoder = nn.Sequential(
            nn.Linear(c.input_dim, c.hidden_dim),
            nn.LeakyReLU(0.2),
            nn.Linear(c.hidden_dim, c.hidden_dim),
            nn.LeakyReLU(0.2),
        )
        self.mu_head = nn.Linear(c.hidden_dim, c.latent_dim)
        self.logvar_head = nn.Linear(c.hidden_dim, c.latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(c.latent_dim, c.hidden_dim),
            nn.LeakyReLU(0.2),
            nn.Linear(c.hidden_dim, c.hidden_dim),
            nn.LeakyReLU(0.2),
            nn.Linear(c.hidden_dim, c.input_dim),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images [B, 784] in [0, 1] → (mu, logvar), each [B, latent_dim] in fp32."""
        hidden = self.encoder(x)
        # The heads run in fp32 even under bf16 autocast: exp(logvar) amplifies rounding errors into NaNs.
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            hidden = hidden.float()
            return self.mu_head(hidden), self.logvar_head(hidden)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Latent points [B, latent_dim] → pixel logits [B, 784]; the loss works on logits for stability."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent points [B, latent_dim] → pixel intensities [B, 784] in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z).float())

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One pass of the VAE: (pixel logits, mu, logvar)."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        return self.decode_logits(z), mu, logvar


def as_float_batch(images: torch.Tensor) -> torch.Tensor:
    """uint8 images [B, 28, 28] or [B, 784] → float32 [B, 784] in [0, 1]: what the encoder takes."""
    return images.reshape(len(images), -1).float().div_(255)


def binarize(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A Bernoulli draw of uint8 ``images`` as float [B, 784]: white (255) is always 1, black always 0, and gray v
    is 1 with probability v/256, within 0.4 % of v/255.

    The noise is random bytes cut from 32-bit draws, four pixels a draw: on a CPU the generator's calls were most of
    the draw's cost, a byte a call made it 5 % of a training step. Capping the bytes at 254 keeps white pixels white.
    """
    flat = images.reshape(len(images), -1)
    words = torch.randint(
        -(2**31), 2**31 - 1, (-(-flat.numel() // 4),), dtype=torch.int32, generator=generator, device=images.device
    )
    noise = words.view(torch.uint8)[: flat.numel()].view(flat.shape).clamp_max_(254)
    return (noise < flat).float()


@torch.no_grad()
def init_output_bias(model: VAE, images: torch.Tensor) -> None:
    """Set the decoder's output bias to the logit of the mean of uint8 ``images``: the mean digit from step 0."""
    mean = images.reshape(len(images), -1).float().mean(0).div_(255).clamp_(1e-3, 1 - 1e-3)
    model.decoder[-1].bias.copy_(torch.logit(mean))


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma·eps with eps ~ N(0, I): the sample stays differentiable in mu and logvar."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def vae_loss(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> LossTerms:
    """Negative ELBO per image: BCE summed over pixels (computed on logits) + KL(q(z|x) ‖ N(0, I))."""
    with torch.autocast(device_type=logits.device.type, enabled=False):
        bce = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="none").sum(dim=1)
        mu, logvar = mu.float(), logvar.float()
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
    return LossTerms(bce=bce, kl=kl)
