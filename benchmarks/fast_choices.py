"""The `fast` recipe's choices re-checked on held-out validation images: each choice against the recipe without it.

    python benchmarks/fast_choices.py [--quick] [--seeds 3] [--device cpu]

The `fast` sweep once chose its settings by epoch-8 *test* loss. Here the test set is not used at all: 10 % of the
training images (a seeded split) are held out as the judge, every variant trains on the other 90 %, and the judge's
negative ELBO is read after epoch 8 and epoch 12 (the end). The "validation split" variant holds out a further 10 %
of its 90 % to keep its best epoch, which is what `fast` gave up for 11 % more data. Rows are ranked by the judge
loss at epoch 8, the quantity the choices were made for (time to 150 nats); seeds 0..N-1 for every row.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from typing import Any

from baseline import machine, mnist_or_exit

from vae_core.data import split_train_val
from vae_core.devices import resolve_device
from vae_core.events import EpochEnded
from vae_core.recipes import recipe
from vae_core.training import train

JUDGE_FRACTION = 0.1
JUDGE_SEED = 12345
"""The judge split's own seed, so it is not the split any recipe holds out for itself."""
VARIANTS: dict[str, dict[str, Any]] = {
    "fast as it is": {},
    "batch 512 instead of 256": {"batch_size": 512},
    "a 10 % validation split (keeps its best epoch)": {"val_fraction": 0.1},
    "without the output-bias start": {"init_output_bias": False},
    "Adam beta2 0.999 instead of 0.99": {"adam_beta2": 0.999},
    "with the binarized encoder input": {"binarize_input": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two variants, 2 epochs on a slice (CI)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    images, _ = mnist_or_exit()
    if args.quick:
        images = images.subset(2000)
    train_idx, judge_idx = split_train_val(len(images), JUDGE_FRACTION, JUDGE_SEED)
    train_set = replace(images, images=images.images[train_idx], labels=images.labels[train_idx])
    judge = replace(images, images=images.images[judge_idx], labels=images.labels[judge_idx], split="judge")
    variants = dict(list(VARIANTS.items())[:2]) if args.quick else VARIANTS
    seeds = range(1 if args.quick else args.seeds)
    epochs, early = (2, 1) if args.quick else (12, 8)
    device = resolve_device(args.device)
    print(f"machine: {machine()}; device {device}; {len(train_set):,} training and {len(judge):,} judge images")

    judged: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for seed in seeds:
        for name, overrides in variants.items():
            ended: list[EpochEnded] = []
            config = recipe("fast", seed=seed, precision="fp32", epochs=epochs, **overrides)
            # The judge goes in as the run's test set, measured whole after every epoch; it chooses nothing.
            result = train(
                train_set,
                judge,
                config,
                device,
                on_event=lambda e, ended=ended: isinstance(e, EpochEnded) and ended.append(e),
                epoch_test_images=None,
            )
            at_early, kept = ended[early - 1].test.total, result.test.total
            judged[name].append((at_early, kept))
            print(f"  seed {seed} {name}: epoch {early} {at_early:.2f}, kept weights {kept:.2f}", flush=True)

    def mean_at(name: str, which: int) -> float:
        return statistics.mean(pair[which] for pair in judged[name])

    reference = next(iter(variants))
    print(f"\n| variant (ranked by judge loss at epoch {early}) | epoch {early} (each seed) | vs fast | kept weights |")
    print("| --- | ---: | ---: | ---: |")
    for name in sorted(judged, key=lambda name: mean_at(name, 0)):
        each = ", ".join(f"{early_loss:.2f}" for early_loss, _ in judged[name])
        print(
            f"| {name} | {mean_at(name, 0):.2f} ({each}) | {mean_at(name, 0) - mean_at(reference, 0):+.2f} | "
            f"{mean_at(name, 1):.2f} |"
        )


if __name__ == "__main__":
    main()
