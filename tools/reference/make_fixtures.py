"""Parity fixtures from the reference stack (dcls 0.1.1, spikingjelly 0.0.0.0.14, torch).

Writes small safetensors files under crates/spikedelay/tests/fixtures/reference/ that the Rust
parity tests (crates/spikedelay/tests/parity.rs) compare against:

- kernels.safetensors   Dcls1d kernels (gauss at several SIG, max/triangle) and their gradients
                        with respect to weights and positions for a random upstream gradient;
- network_<case>.safetensors
                        the reference network (Dcls1d → BatchNorm1d → LIFNode → Dropout, ×2, then
                        Dcls1d → LIFNode readout) at small sizes: inputs, parameters, injected
                        dropout masks, every intermediate, the loss, every gradient, BatchNorm
                        running statistics, the rounded evaluation model's output and loss, and
                        the parameters after one and two optimiser steps with the schedules;
                        cases: learned (τ = 1.5), learned_shd (τ = 1.005, σ = 0.5), fixed, none;
- schedules.safetensors one-cycle lr and β1, cosine lr and the σ schedule over whole runs.

Run from the repository root after tools/reference/setup.sh:
    tools/reference/.venv/bin/python tools/reference/make_fixtures.py
Everything is seeded and single-threaded, so a rerun writes identical files.
"""

import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file
from spikingjelly.activation_based import functional

from DCLS.construct.modules import Dcls1d
from refnet import RefNet, round_for_eval, sum_softmax_ce

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

OUT = Path(__file__).resolve().parents[2] / "crates/spikedelay/tests/fixtures/reference"
THRESHOLD_MARGIN = 2e-3  # no hidden membrane may come closer than this to the threshold


def np32(t):
    return t.detach().cpu().contiguous().numpy().astype(np.float32)


# --------------------------------------------------------------------------------------------
# Kernels


def kernel_case(name, c_in, c_out, kc, d, version, sig, seed, integer_positions=False):
    g = torch.Generator().manual_seed(seed)
    conv = Dcls1d(c_in, c_out, kernel_count=kc, dilated_kernel_size=d, bias=False, version=version)
    with torch.no_grad():
        conv.weight.copy_(torch.rand(c_out, c_in, kc, generator=g) * 2 - 1)
        p = torch.rand(1, c_out, c_in, kc, generator=g) * (d - 1) - (d // 2)
        if integer_positions:
            p = p.round()
        conv.P.copy_(p)
        conv.SIG.fill_(sig)
    conv.SIG.requires_grad_(False)
    k = conv.DCK(conv.weight, conv.P, conv.SIG)
    upstream = torch.rand(k.shape, generator=g) * 2 - 1
    (k * upstream).sum().backward()
    return {
        f"{name}.weight": np32(conv.weight),
        f"{name}.position": np32(conv.P[0]),
        f"{name}.sig": np.array([sig], dtype=np.float32),
        f"{name}.kernel": np32(k),
        f"{name}.upstream": np32(upstream),
        f"{name}.grad_weight": np32(conv.weight.grad),
        f"{name}.grad_position": np32(conv.P.grad[0]),
    }, {name: version}


def make_kernels():
    tensors, versions = {}, {}
    cases = [
        ("gauss_wide", 4, 3, 1, 25, "gauss", 12.0, 1, False),
        ("gauss_mid", 4, 3, 1, 25, "gauss", 3.0, 2, False),
        ("gauss_narrow", 4, 3, 1, 25, "gauss", 0.23, 3, False),
        ("gauss_kc2", 3, 2, 2, 7, "gauss", 1.5, 4, False),
        ("max_zero", 4, 3, 1, 7, "max", 0.0, 5, False),
        ("max_wide", 3, 2, 2, 7, "max", 1.3, 6, False),
        ("max_rounded", 4, 3, 1, 7, "max", 0.0, 7, True),
    ]
    for case in cases:
        t, v = kernel_case(*case)
        tensors.update(t)
        versions.update(v)
    save_file(tensors, OUT / "kernels.safetensors", metadata={"versions": json.dumps(versions, sort_keys=True)})


# --------------------------------------------------------------------------------------------
# Network (mirrors the reference's SnnDelays.forward and snn.SNN.forward)


def hidden_margin(record, n_hidden, tau, eval_mode):
    """Smallest |h − 1| over all hidden membranes, recomputed in float64 from the records."""
    margin = math.inf
    decay = 1.0 - 1.0 / tau
    for l in range(n_hidden):
        z = record[f"layer{l}.bn_out"].detach().double()
        v_seq = record[f"layer{l}.v_seq"].detach().double()
        v_prev = torch.zeros_like(z[0])
        for t in range(z.shape[0]):
            h = (v_prev - v_prev / tau + z[t]) if eval_mode else (v_prev * decay + z[t])
            margin = min(margin, (h - 1.0).abs().min().item())
            v_prev = v_seq[t]
    return margin


def build(case, seed):
    cfg = CASES[case]
    torch.manual_seed(seed)
    net = RefNet(cfg["inputs"], cfg["hidden"], cfg["outputs"], cfg["taps"], cfg["mode"], cfg["tau"], cfg["dropout"], cfg["sig"])
    with torch.no_grad():
        for conv in net.convs:
            torch.nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
            if cfg["mode"] != "none":
                torch.nn.init.uniform_(conv.P, a=-cfg["taps"] // 2, b=cfg["taps"] // 2)
                conv.clamp_parameters()
                if cfg["mode"] == "fixed":
                    conv.P.round_()
                    conv.clamp_parameters()
                    conv.P.requires_grad = False
        for bn in net.bns:
            bn.weight.uniform_(0.7, 1.4)
            bn.bias.uniform_(-0.3, 0.4)
    b, t, c = cfg["batch"], cfg["steps"], cfg["inputs"]
    x = torch.poisson(torch.full((t, b, c), cfg["input_rate"]))
    y = torch.randint(0, cfg["outputs"], (b,))
    keep = 1.0 / (1.0 - cfg["dropout"])
    masks = [(torch.rand(b, h) >= cfg["dropout"]).float() * keep for h in cfg["hidden"]]
    return net, x, y, masks


def params_of(net, prefix, record_positions=True):
    out = {}
    for l, conv in enumerate(net.convs):
        w = conv.weight
        out[f"{prefix}layers.{l}.weight"] = np32(w if w.dim() == 3 else w.unsqueeze(2))
        if hasattr(conv, "P") and record_positions:
            out[f"{prefix}layers.{l}.position"] = np32(conv.P[0])
    for l, bn in enumerate(net.bns):
        out[f"{prefix}blocks.{l}.norm.gamma"] = np32(bn.weight)
        out[f"{prefix}blocks.{l}.norm.beta"] = np32(bn.bias)
    return out


def rounded_eval(net, cfg, x):
    """Forward pass of the rounded evaluation model (method §15) on a copy of `net`."""
    ev_net = RefNet(cfg["inputs"], cfg["hidden"], cfg["outputs"], cfg["taps"], cfg["mode"], cfg["tau"], cfg["dropout"], cfg["sig"])
    ev_net.load_state_dict(net.state_dict())
    functional.reset_net(ev_net)
    with torch.no_grad():
        round_for_eval(ev_net)
        record = {}
        v = ev_net(x, record)
    return v, record


def make_network(case):
    cfg = CASES[case]
    n_hidden = len(cfg["hidden"])
    for seed in range(cfg["seed"], cfg["seed"] + 200):
        net, x, y, masks = build(case, seed)
        functional.reset_net(net)
        for drop, m in zip(net.drops, masks):
            drop.mask = m
        record = {}
        xg = x.clone().requires_grad_(True)
        init_params = params_of(net, "init.")
        v = net(xg, record)
        loss = sum_softmax_ce(v, y)
        loss.backward()
        ev, erecord = rounded_eval(net, cfg, x)
        margins = (hidden_margin(record, n_hidden, cfg["tau"], False), hidden_margin(erecord, n_hidden, cfg["tau"], True))
        if min(margins) > THRESHOLD_MARGIN:
            break
    else:
        raise SystemExit(f"{case}: no seed keeps membranes away from the threshold")
    tensors = {"input": np32(x), "labels": y.numpy().astype(np.int64), "seed": np.array([seed], dtype=np.int64)}
    for l, m in enumerate(masks):
        tensors[f"masks.{l}"] = np32(m)
    tensors.update(init_params)
    for k, val in record.items():
        tensors[f"forward.{k}"] = np32(val)
    tensors["forward.readout"] = np32(v)
    tensors["forward.loss"] = np.array([loss.item()], dtype=np.float32)
    tensors["grad.input"] = np32(xg.grad)
    for l, conv in enumerate(net.convs):
        g = conv.weight.grad
        tensors[f"grad.layers.{l}.weight"] = np32(g if g.dim() == 3 else g.unsqueeze(2))
        if cfg["mode"] == "learned":
            tensors[f"grad.layers.{l}.position"] = np32(conv.P.grad[0])
    for l, bn in enumerate(net.bns):
        tensors[f"grad.blocks.{l}.norm.gamma"] = np32(bn.weight.grad)
        tensors[f"grad.blocks.{l}.norm.beta"] = np32(bn.bias.grad)
        tensors[f"after_forward.blocks.{l}.norm.running_mean"] = np32(bn.running_mean)
        tensors[f"after_forward.blocks.{l}.norm.running_var"] = np32(bn.running_var)
    tensors["eval.readout"] = np32(ev)
    tensors["eval.loss"] = np.array([sum_softmax_ce(ev, y).item()], dtype=np.float32)
    for l in range(n_hidden):
        tensors[f"eval.layer{l}.spikes"] = np32(erecord[f"layer{l}.spikes"])

    # one and two optimiser steps at epoch `e` of an `E`-epoch run (method §13–§14)
    e, total = cfg["optim_epoch"], cfg["optim_epochs"]
    weights = [conv.weight for conv in net.convs]
    bn_params = [p for bn in net.bns for p in (bn.weight, bn.bias)]
    opt1 = torch.optim.Adam([{"params": weights, "weight_decay": 1e-5}, {"params": bn_params, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999))
    sched1 = torch.optim.lr_scheduler.OneCycleLR(opt1, max_lr=5e-3, total_steps=total)
    opts, scheds = [opt1], [sched1]
    if cfg["mode"] == "learned":
        opt2 = torch.optim.Adam([conv.P for conv in net.convs], lr=0.1, betas=(0.9, 0.999))
        opts.append(opt2)
        scheds.append(torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=total))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(e):
            for s in scheds:
                s.step()
    tensors["optim.epoch"] = np.array([e, total], dtype=np.int64)
    tensors["optim.lr_weights"] = np.array([opt1.param_groups[0]["lr"]], dtype=np.float64)
    tensors["optim.beta1"] = np.array([opt1.param_groups[0]["betas"][0]], dtype=np.float64)
    if cfg["mode"] == "learned":
        tensors["optim.lr_positions"] = np.array([opts[1].param_groups[0]["lr"]], dtype=np.float64)
    grads = {id(p): p.grad.clone() for o in opts for g in o.param_groups for p in g["params"]}
    for step in (1, 2):
        for o in opts:
            for g in o.param_groups:
                for p in g["params"]:
                    p.grad = grads[id(p)].clone()
            o.step()
        if cfg["mode"] != "none":
            for conv in net.convs:
                conv.clamp_parameters()
        tensors.update(params_of(net, f"step{step}.", record_positions=cfg["mode"] == "learned"))
    meta = {"config": json.dumps(cfg, sort_keys=True)}
    save_file(tensors, OUT / f"network_{case}.safetensors", metadata=meta)
    return seed


CASES = {
    "learned": dict(mode="learned", inputs=6, hidden=[8, 8], outputs=4, taps=7, tau=1.5, dropout=0.25, sig=2.0,
                    batch=4, steps=20, input_rate=0.4, seed=10, optim_epoch=3, optim_epochs=10),
    "learned_shd": dict(mode="learned", inputs=6, hidden=[8, 8], outputs=4, taps=9, tau=(10.05 + 1e-9) / 10,
                        dropout=0.4, sig=0.23, batch=4, steps=18, input_rate=0.5, seed=20, optim_epoch=40,
                        optim_epochs=150),
    "fixed": dict(mode="fixed", inputs=6, hidden=[8, 8], outputs=4, taps=7, tau=1.5, dropout=0.25, sig=0.0,
                  batch=4, steps=20, input_rate=0.4, seed=30, optim_epoch=0, optim_epochs=10),
    "none": dict(mode="none", inputs=6, hidden=[8, 8], outputs=4, taps=1, tau=1.5, dropout=0.25, sig=0.0,
                 batch=4, steps=20, input_rate=0.4, seed=40, optim_epoch=7, optim_epochs=10),
}


# --------------------------------------------------------------------------------------------
# Schedules over whole runs


def make_schedules():
    tensors = {}
    for name, epochs, sig_init in [("shd", 150, 12.0), ("ssc", 60, 15.0), ("gsc", 100, 15.0), ("short", 12, 12.0)]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.Adam([p], lr=1e-3, betas=(0.9, 0.999))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=epochs)
        q = torch.nn.Parameter(torch.zeros(1))
        opt2 = torch.optim.Adam([q], lr=0.1)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=epochs)
        lrs, betas, lrp, sigs = [], [], [], []
        sig = torch.full((1, 2, 2, 1), sig_init)  # SIG tensor, float32, as in Dcls1d
        final_epoch = epochs // 4
        alpha = (0.23 / sig_init) ** (1 / final_epoch)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in range(epochs):
                lrs.append(opt.param_groups[0]["lr"])
                betas.append(opt.param_groups[0]["betas"][0])
                lrp.append(opt2.param_groups[0]["lr"])
                sigs.append(sig[0, 0, 0, 0].item())
                opt.step()
                opt2.step()
                if epoch < epochs - 1:
                    sched.step()
                cos.step()
                # decrease_sig (REF snn_delays.py)
                if epoch < final_epoch and sig[0, 0, 0, 0].item() > 0.23:
                    sig *= alpha
        tensors[f"{name}.lr_weights"] = np.array(lrs, dtype=np.float64)
        tensors[f"{name}.beta1"] = np.array(betas, dtype=np.float64)
        tensors[f"{name}.lr_positions"] = np.array(lrp, dtype=np.float64)
        tensors[f"{name}.sig"] = np.array(sigs, dtype=np.float32)
        tensors[f"{name}.config"] = np.array([epochs, sig_init], dtype=np.float64)
    save_file(tensors, OUT / "schedules.safetensors")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    make_kernels()
    for case in CASES:
        seed = make_network(case)
        print(f"network_{case}: seed {seed}")
    make_schedules()
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"fixtures in {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}: {total / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
