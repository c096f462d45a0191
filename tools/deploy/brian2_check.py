"""Builds a spikedelay `synapses` export in Brian2 (its own per-synapse delays, NeuronGroup and
Synapses objects, float32, numpy code generation) and compares its spike trains and readout with
spikedelay's trace of the same samples (`eval --checkpoint F --trace T`; docs/deploy.md §5).

    tools/deploy/.venv/bin/python tools/deploy/brian2_check.py NET.json TRACE.h5

Each step: `v ← v − v/τ + (I + b)`, `I ← 0` (at `start`), threshold `v >= θ`, synapses add
`w` to the target's `I` `delay` steps after the spike, reset `v = 0`. Brian2 integrates a
delivered input on the next step, so layer l shows at step t + l + 1 what spikedelay has at t.
A bin holding k spikes is k generator copies of the channel.
"""
import json
import sys
import time

import h5py
import numpy as np
from results import record
from brian2 import (NeuronGroup, Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor,
                    Synapses, defaultclock, ms, prefs)

prefs.codegen.target = "numpy"
prefs.core.default_float_dtype = np.float32


def build(spec, copies):
    dt = spec["time_step_ms"] * ms
    defaultclock.dt = dt
    layers = spec["layers"]
    n_in = layers[0]["inputs"]
    gen = SpikeGeneratorGroup(n_in * copies, [0], [0] * ms, name="input")
    objects, groups, monitors = [gen], [], []
    pre_group = gen
    for l, layer in enumerate(layers):
        nr = layer["neuron"]
        eqs = "v : 1\nI : 1\nb : 1 (constant)\ntau : 1 (constant)"
        if nr["kind"] == "lif":
            g = NeuronGroup(layer["outputs"], eqs, threshold="v >= theta_th", reset="v = 0",
                            namespace={"theta_th": np.float32(nr["threshold"])}, name=f"l{l}")
        else:
            g = NeuronGroup(layer["outputs"], eqs, name="readout")
        g.b = np.asarray(layer["bias"], dtype=np.float32)
        g.tau = nr["tau_steps"]
        g.run_regularly("v = v - v / tau + (I + b)\nI = 0", when="start", order=0)
        pre = np.asarray(layer["pre"], dtype=np.int64)
        post = np.asarray(layer["post"], dtype=np.int64)
        w = np.asarray(layer["weight"], dtype=np.float32)
        d = np.asarray(layer["delay_steps"], dtype=np.int64)
        k = copies if l == 0 else 1
        syn = Synapses(pre_group, g, "w : 1", on_pre="I_post += w", name=f"s{l}")
        syn.connect(i=np.concatenate([pre * k + c for c in range(k)]), j=np.tile(post, k))
        syn.w = np.tile(w, k)
        syn.delay = np.tile(d, k) * dt
        objects += [g, syn]
        groups.append(g)
        if nr["kind"] == "lif":
            monitors.append(SpikeMonitor(g, name=f"m{l}"))
        else:
            monitors.append(StateMonitor(g, "v", record=True, when="thresholds", name="mv"))
        pre_group = g
    net = Network(*objects, *monitors)
    return net, gen, monitors, dt


def main():
    spec = json.load(open(sys.argv[1]))
    with h5py.File(sys.argv[2], "r") as t:
        x = t["input"][()]
        ours = [t[f"spikes/{k}"][()] for k in range(len(t["spikes"]))]
        readout = t["readout"][()]
    n, steps = readout.shape[0], readout.shape[1]
    copies = int(max(1, x.max()))
    net, gen, monitors, dt = build(spec, copies)
    hidden = len(spec["layers"]) - 1
    net.store()
    start, spikes, worst = time.time(), 0, 0.0
    for s in range(n):
        net.restore()
        t_idx, ch = np.nonzero(x[s])
        idx = np.concatenate([ch * copies + c for c in range(copies)])
        tt = np.concatenate([t_idx] * copies)
        keep = np.concatenate([x[s][t_idx, ch] > c for c in range(copies)])
        gen.set_spikes(idx[keep], tt[keep] * dt)
        net.run((steps + hidden + 1) * dt, namespace={})
        for l in range(hidden):
            m = monitors[l]
            got = np.zeros((steps, ours[l].shape[2]), dtype=bool)
            step = np.round(np.asarray(m.t / dt)).astype(int) - (l + 1)
            inside = (step >= 0) & (step < steps)
            got[step[inside], np.asarray(m.i)[inside]] = True
            mine = ours[l][s] != 0
            if not np.array_equal(got, mine):
                tt_, o = np.argwhere(got != mine)[0]
                print(f"sample {s}: layer {l} differs first at step {tt_}, neuron {o} "
                      f"(Brian2 {got[tt_, o]}, spikedelay {mine[tt_, o]})")
                sys.exit(1)
            spikes += int(mine.sum())
        membrane = np.asarray(monitors[-1].v).T[hidden + 1: hidden + 1 + steps]
        scale = np.maximum(1.0, np.abs(readout[s]).max())
        worst = max(worst, float(np.abs(membrane - readout[s]).max() / scale))
    assert worst < 1e-5, worst
    print(f"Brian2 == spikedelay on {n} samples x {steps} steps: {spikes} hidden spikes identical, "
          f"readout within {worst:.1e} (relative; float32 sums in another order) "
          f"({time.time() - start:.0f} s)")
    record(check="brian2", samples=n, spikes=spikes, readout_error=worst)


if __name__ == "__main__":
    main()
