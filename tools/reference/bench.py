"""Times the reference network (refnet.RefNet, from dcls and spikingjelly) on the paper's SHD or
SSC shape: one training step (zero_grad, forward, loss, backward, both Adam steps, reset, clamp) or
one inference batch of the rounded model. Prints one JSON line per case with the median of the
timed runs and this process's peak RSS. Denormals are flushed (as GPUs do), see
docs/design.md §5. Usually run by bench_side_by_side.py, one case per process.

    tools/reference/.venv/bin/python tools/reference/bench.py --config shd --phase train-early \
        --threads 2 --input /tmp/shd_input.safetensors
"""

import argparse
import json
import resource
import statistics
import time

import torch
from safetensors.torch import load_file
from spikingjelly.activation_based import functional

from refnet import RefNet, init_reference, optimisers, round_for_eval, sum_softmax_ce, train_step

SHAPES = {
    # inputs, hidden, outputs, D, tau (steps), dropout, SIG init (D//2)
    "shd": dict(inputs=140, hidden=[256, 256], outputs=20, taps=25, tau=(10.05 + 1e-9) / 10, dropout=0.4, sig=12.0),
    "ssc": dict(inputs=140, hidden=[512, 512, 512], outputs=35, taps=31, tau=(15 + 1e-9) / 10, dropout=0.25, sig=15.0),
}


def build(cfg, sig):
    torch.manual_seed(0)
    net = RefNet(cfg["inputs"], cfg["hidden"], cfg["outputs"], cfg["taps"], "learned", cfg["tau"], cfg["dropout"], sig)
    init_reference(net, cfg["taps"])
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", "--workload", dest="config", choices=sorted(SHAPES), required=True)
    ap.add_argument("--phase", choices=["train-early", "train-mid", "train-late", "infer", "infer-dense"], required=True)
    ap.add_argument("--sigma", type=float, help="sigma_eff = SIG + 0.27 of a training step (default: the phase's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--input", required=True, help="safetensors with input (T, B, C) f32 and labels (B) i64")
    ap.add_argument("--device", default="cpu", help="torch device: cpu or cuda (tools/gpu/check.sh)")
    args = ap.parse_args()
    device = torch.device(args.device)
    # The reference has one inference path; spikedelay's two (`infer`: event-driven engine,
    # `infer-dense`: batched dense evaluation) are both compared with it.
    infer = args.phase in ("infer", "infer-dense")

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    cfg = SHAPES[args.config]
    data = load_file(args.input)
    x, y = data["input"].to(device), data["labels"].to(device)
    # sigma_eff = SIG + 0.27: train-early D/2 + 0.27, train-mid 1.5, train-late 0.5 (as spikedelay bench).
    sig = {"train-mid": 1.23, "train-late": 0.23}.get(args.phase, cfg["sig"])
    if args.sigma is not None and not infer:
        sig = args.sigma - 0.27
    net = build(cfg, sig).to(device)
    opt1, opt2 = optimisers(net)
    if infer:
        round_for_eval(net)

    times, rates = [], []
    for i in range(args.warmup + args.runs):
        start = time.perf_counter()
        record = {}
        if infer:
            with torch.no_grad():
                v = net(x, record)
                sum_softmax_ce(v, y)
            functional.reset_net(net)
        else:
            train_step(net, opt1, opt2, x, y, record)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            times.append(elapsed)
        rates = [record[f"layer{l}.spikes"].float().mean().item() for l in range(len(cfg["hidden"]))]
    print(json.dumps({
        "impl": "reference",
        "config": args.config,
        "phase": args.phase,
        "sigma": None if infer else sig + 0.27,
        "threads": torch.get_num_threads(),
        "batch": x.shape[1],
        "steps": x.shape[0],
        "median_s": statistics.median(times),
        "runs_s": times,
        "spike_rates": rates,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "device": str(device),
        "peak_device_bytes": torch.cuda.max_memory_allocated() if device.type == "cuda" else None,
        "versions": {"torch": torch.__version__, "dcls": "0.1.1", "spikingjelly": "0.0.0.0.14"},
    }))


if __name__ == "__main__":
    main()
