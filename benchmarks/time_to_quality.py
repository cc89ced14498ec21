"""Seconds of training until the test loss first drops below 150 nats per image: `vae train` vs the baseline.

    python benchmarks/time_to_quality.py [--quick] [--recipe fast] [--threshold 150]

Both sides are timed on training alone (the per-epoch test evaluation is not counted) and evaluated with the same
function, vae_core.training.evaluate, on the full test set.
"""

from __future__ import annotations

import argparse

from baseline import baseline_epochs, machine, mnist_or_exit

from vae_core.devices import resolve_device
from vae_core.training import EpochEnded, StopFlag, evaluate, recipe, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on a slice with a loose threshold (CI)")
    parser.add_argument("--recipe", default="fast")
    parser.add_argument("--threshold", type=float, default=150.0)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    train_set, test_set = mnist_or_exit()
    threshold, max_epochs = args.threshold, args.max_epochs
    if args.quick:
        train_set, test_set, threshold, max_epochs = train_set.subset(2000), test_set.subset(1000), 250.0, 2
    device = resolve_device(args.device)
    print(f"machine: {machine()}; device {device}; threshold {threshold} nats; {len(train_set):,} training images")

    crossings: dict[str, tuple[float, int] | None] = {"baseline": None, "ours": None}

    def baseline_check(epoch, model, seconds) -> bool:
        loss = evaluate(model, test_set.images.to(device)).total
        print(f"  baseline epoch {epoch:3d}: test {loss:7.2f} after {seconds:6.1f} s")
        if loss < threshold:
            crossings["baseline"] = (seconds, epoch)
        return loss < threshold

    baseline_epochs(train_set.images, max_epochs, device, after_epoch=baseline_check)

    stop = StopFlag()

    def ours_check(event) -> None:
        if isinstance(event, EpochEnded):
            print(f"  ours     epoch {event.epoch:3d}: test {event.test.total:7.2f} after {event.elapsed_s:6.1f} s")
            if event.test.total < threshold and crossings["ours"] is None:
                crossings["ours"] = (event.elapsed_s, event.epoch)
                stop.set()

    config = recipe(args.recipe, **({"epochs": max_epochs} if args.quick else {}))
    train(train_set, test_set, config, device, on_event=ours_check, stop=stop)

    for name, crossing in crossings.items():
        print(f"{name:<9} " + ("never crossed" if crossing is None else f"{crossing[0]:6.1f} s ({crossing[1]} epochs)"))
    if crossings["baseline"] and crossings["ours"]:
        print(f"ratio ours/baseline: {crossings['ours'][0] / crossings['baseline'][0]:.2f}x (target <= 0.25x)")


if __name__ == "__main__":
    main()
