"""The baseline every training benchmark compares against: the plain loop a tutorial would write.

The product's model, the whole training set as one float tensor, ``torch.randperm`` batches of 128, Adam 1e-3,
a loss ``.item()`` every step, fp32.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


def mnist_or_exit(data_dir: Path = MNIST_DIR):
    """The real training and test sets, or a clean exit where they are absent (benchmarks skip, never fail)."""
    from vae_core.data import MNIST

    if not (data_dir / "t10k-images-idx3-ubyte.gz").is_file():
        print(f"skipped: MNIST not found at {data_dir}")
        sys.exit(0)
    return MNIST.load("train", data_dir, download=False), MNIST.load("test", data_dir, download=False)


def machine() -> str:
    """CPU model, core count and the vector/matrix flags that matter for training speed."""
    import platform

    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{name}, {torch.get_num_threads()} threads, flags: {' '.join(wanted) or 'none of avx2/avx512/amx'}{gpu}"


def baseline_epochs(
    train_images: torch.Tensor,
    epochs: int,
    device: torch.device,
    seed: int = 0,
    after_epoch: Callable[[int, torch.nn.Module, float], bool] | None = None,
) -> tuple[float, int]:
    """Train the tutorial way; returns (training seconds, samples seen).

    ``after_epoch(epoch, model, seconds_so_far)`` runs outside the timed part; returning True stops the run.
    """
    from vae_core.model import VAE

    torch.manual_seed(seed)
    data = train_images.reshape(len(train_images), -1).float().div(255).to(device)
    model = VAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds, samples = 0.0, 0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        for index in torch.randperm(len(data), device=device).split(128):
            x = data[index]
            mu, logvar = model.encode(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            recon = torch.sigmoid(model.decode_logits(z))
            bce = F.binary_cross_entropy(recon, x, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (bce + kl) / len(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()
            samples += len(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - start
        if after_epoch is not None and after_epoch(epoch, model, seconds):
            break
    return seconds, samples
