"""The plain recipe against the default one, each given the same wall-clock budget of training.

    python benchmarks/recipes.py [--quick] [--budget-s 120]

Each recipe first trains one epoch to measure its own speed here, then trains as many epochs as fit the budget
(its schedule stretched or shortened to that length), and the test loss of its checkpoint is printed.
"""

from __future__ import annotations

import argparse

from baseline import machine, mnist_or_exit

from vae_core.events import EpochEnded, TrainResult
from vae_core.recipes import recipe
from vae_core.training import train


def train_for(name: str, train_set, test_set, budget_s: float) -> tuple[int, TrainResult]:
    """Train recipe ``name`` for as many epochs as fit in ``budget_s`` at its measured speed."""
    probe: list[EpochEnded] = []
    train(train_set, None, recipe(name, epochs=1), on_event=lambda e: isinstance(e, EpochEnded) and probe.append(e))
    epochs = max(1, int(budget_s / probe[-1].elapsed_s))
    return epochs, train(train_set, test_set, recipe(name, epochs=epochs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 3-second budget on a slice (CI)")
    parser.add_argument("--budget-s", type=float, default=120.0)
    args = parser.parse_args()
    train_set, test_set = mnist_or_exit()
    budget = args.budget_s
    if args.quick:
        train_set, test_set, budget = train_set.subset(2000), test_set.subset(1000), 3.0
    print(f"machine: {machine()}; budget {budget:.0f} s of training each; {len(train_set):,} training images")
    for name in ("plain", "default"):
        epochs, result = train_for(name, train_set, test_set, budget)
        seconds = result.history[-1].elapsed_s
        print(
            f"{name:<8} {epochs:4d} epochs in {seconds:6.1f} s: test loss {result.test.total:7.2f} nats per image "
            f"(best epoch {result.best_epoch})"
        )


if __name__ == "__main__":
    main()
