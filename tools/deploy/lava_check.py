"""Runs a spikedelay netx export on Lava's bit-accurate CPU models (lava-nc 0.10, lava-dl 0.6 netx)
and compares every hidden spike and every readout membrane with `spikedelay eval --quantize loihi
--trace` (docs/deploy.md §5).

    tools/deploy/.venv-lava/bin/python tools/deploy/lava_check.py NET.net TRACE.h5

Lava delivers a spike one step after it is sent (Dense/DelayDense latency), and its source sends
data step 1 at time step 1: layer l of the network therefore shows at Lava's recorded index
t + l + 1 what spikedelay's trace holds at step t. Exits 1 on the first mismatch.
"""
import sys
import time

import h5py
import numpy as np
from results import record
from lava.lib.dl.netx import hdf5
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc import io
from lava.proc.monitor.process import Monitor


def run_sample(net_path, x, steps):
    # Bins holding several spikes are graded input spikes.
    bits = 8 if x.max() > 1 else 0
    net = hdf5.Network(net_config=net_path, input_message_bits=bits)
    n_layers = len(net.layers)
    total = steps + n_layers
    data = np.zeros((x.shape[1], total), dtype=np.int32)
    data[:, : x.shape[0]] = x.T
    source = io.source.RingBuffer(data=data)
    source.s_out.connect(net.inp)
    sinks = []
    for layer in net.layers[:-1]:
        sink = io.sink.RingBuffer(shape=layer.out.shape, buffer=total)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    monitor = Monitor()
    readout = net.layers[-1].neuron
    monitor.probe(readout.v, total)
    net.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    spikes = [s.data.get().T.copy() for s in sinks]  # (total, n)
    v = monitor.get_data()[readout.name]["v"].copy()  # (total, classes)
    net.stop()
    return spikes, v


def main():
    net_path, trace_path = sys.argv[1], sys.argv[2]
    with h5py.File(net_path, "r") as f:
        n_layers = len(f["layer"])
        scale = float(f[f"layer/{n_layers - 1}/spikedelay_scale"][()])
    with h5py.File(trace_path, "r") as t:
        inputs = t["input"][()]
        ours = [t[f"spikes/{k}"][()] for k in range(len(t["spikes"]))]
        readout = t["readout"][()]
    samples, steps = readout.shape[0], readout.shape[1]
    start = time.time()
    total_spikes = 0
    for s in range(samples):
        spikes, v = run_sample(net_path, inputs[s], steps)
        for l, (theirs, mine) in enumerate(zip(spikes, ours)):
            lava = theirs[l + 1 : l + 1 + steps] != 0
            if not np.array_equal(lava, mine[s] != 0):
                t, o = np.argwhere(lava != (mine[s] != 0))[0]
                print(f"sample {s}: layer {l} differs first at step {t}, neuron {o}")
                sys.exit(1)
            total_spikes += int(lava.sum())
        lava_v = (v[n_layers : n_layers + steps].astype(np.float64) / (64.0 * scale)).astype(np.float32)
        if not np.array_equal(lava_v, readout[s]):
            t, c = np.argwhere(lava_v != readout[s])[0]
            print(f"sample {s}: readout differs first at step {t}, class {c}: "
                  f"Lava {lava_v[t, c]} vs spikedelay {readout[s][t, c]}")
            sys.exit(1)
    print(f"Lava fixed point == spikedelay --quantize loihi on {samples} samples: "
          f"{total_spikes} hidden spikes and {samples * steps * readout.shape[2]} readout "
          f"membranes identical ({time.time() - start:.0f} s)")
    record(check="lava", samples=samples, spikes=total_spikes,
           membranes=samples * steps * readout.shape[2])


if __name__ == "__main__":
    main()
