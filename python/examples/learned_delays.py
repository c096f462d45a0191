"""Train learned delays on the built-in task, plot the learned delay histogram, compare with no delays.

    pip install ./python matplotlib
    python python/examples/learned_delays.py [--epochs 50] [--out runs/python-example]
"""
import argparse
from pathlib import Path

import numpy as np

import spikedelay


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--out", default="runs/python-example")
    args = p.parse_args()
    out = Path(args.out)
    base = spikedelay.RunConfig.preset("delay-patterns").replace({"train": {"epochs": args.epochs}})
    results = {}
    for mode in ("learned", "none"):
        config = base.replace({"model": {"delays": mode}})
        curve = []
        summary = spikedelay.train(config, out=out / mode, overwrite=True,
                                   callback=lambda m: curve.append(m["valid_accuracy"]))
        results[mode] = (summary["test_accuracy"], curve)
        print(f"{mode:>8}: test accuracy {100 * summary['test_accuracy']:.2f}%")
    model = spikedelay.load(out / "learned" / "best.safetensors")
    delays = model.delays()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: per-layer mean learned delay",
              [float(np.mean(d)) for d in delays])
        return
    fig, axes = plt.subplots(1, len(delays) + 1, figsize=(4 * (len(delays) + 1), 3))
    for l, (ax, d) in enumerate(zip(axes, delays)):
        ax.hist(d.ravel(), bins=np.arange(d.max() + 2) - 0.5)
        ax.set_title(f"layer {l}: learned delays (steps)")
    for mode, (_, curve) in results.items():
        axes[-1].plot(curve, label=f"--delays {mode}")
    axes[-1].set_title("validation accuracy")
    axes[-1].legend()
    fig.tight_layout()
    fig.savefig(out / "delays.png", dpi=120)
    print("wrote", out / "delays.png")


if __name__ == "__main__":
    main()
