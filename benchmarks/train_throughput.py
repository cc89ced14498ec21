"""Training throughput (samples/s) of vae_core's loop against the tutorial baseline, in the same run.

    python benchmarks/train_throughput.py [--quick] [--epochs 3] [--device auto]

Ours runs with progress reporting on (events every 0.25 s), as `vae train` does. Each side runs alternately
(baseline, ours, baseline, ours, ...) and the median epoch rate is compared, so a noisy neighbour hurts both.
"""

from __future__ import annotations

import argparse
import statistics

from baseline import baseline_epochs, machine, mnist_or_exit

from vae_core.devices import resolve_device
from vae_core.events import EpochEnded
from vae_core.recipes import TrainConfig
from vae_core.training import train


def ours_rate(train_set, config: TrainConfig, device) -> float:
    """Samples per second of training (evaluation excluded), over the whole run."""
    ended: list[EpochEnded] = []
    train(train_set, None, config, device, on_event=lambda e: isinstance(e, EpochEnded) and ended.append(e))
    return ended[-1].samples_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on 2,000 images (CI)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    train_set, _ = mnist_or_exit()
    epochs, rounds = (1, 1) if args.quick else (args.epochs, args.rounds)
    if args.quick:
        train_set = train_set.subset(2000)
    device = resolve_device(args.device)
    print(f"machine: {machine()}; device {device}; {len(train_set):,} images, {epochs} epoch(s) x {rounds} round(s)")

    variants = {
        "ours, batch 128, fp32": TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, val_fraction=0, precision="fp32"),
        "ours, batch 512, fp32": TrainConfig(epochs=epochs, batch_size=512, lr=1e-3, val_fraction=0, precision="fp32"),
        "ours, batch 512, bf16": TrainConfig(epochs=epochs, batch_size=512, lr=1e-3, val_fraction=0, precision="bf16"),
    }
    rates: dict[str, list[float]] = {"baseline, batch 128, fp32": [], **{name: [] for name in variants}}
    for _ in range(rounds):
        seconds, samples = baseline_epochs(train_set.images, epochs, device)
        rates["baseline, batch 128, fp32"].append(samples / seconds)
        for name, config in variants.items():
            rates[name].append(ours_rate(train_set, config, device))
    base = statistics.median(rates["baseline, batch 128, fp32"])
    print(f"{'variant':<28}{'samples/s':>12}{'vs baseline':>14}")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"{name:<28}{rate:>12,.0f}{rate / base:>13.2f}x")


if __name__ == "__main__":
    main()
