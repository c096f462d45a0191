"""Writes the deploy fixtures CI tests without Python (crates/spikedelay/tests/fixtures/deploy/):
files written by the targets' own writers, with what the targets' own simulators compute on them.

    tools/deploy/.venv-lava/bin/python tools/deploy/make_fixtures.py lava     # slayer_netx.net + .json
    tools/deploy/.venv/bin/python      tools/deploy/make_fixtures.py snntorch # snntorch.nir + .json

lava: two lava-dl SLAYER CUBA Dense blocks (6 → 5 with axonal delays, 5 → 3 readout) exported with
slayer's own `export_hdf5`, loaded with netx and run on Lava's bit-accurate models; recorded: the
hidden spikes and the readout's integer membranes at Lava's time steps.
snntorch: Linear → Leaky → Linear → Leaky exported with `snntorch.export_nir`, written with
`nir.write`, run by snnTorch's NIR importer; recorded: both layers' spikes per step.
"""
import json
import os
import sys

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "../../crates/spikedelay/tests/fixtures/deploy")
STEPS = 24
rng = np.random.default_rng(7)
INPUT = (rng.random((STEPS, 6)) < 0.3).astype(np.int32)
INPUT[STEPS - 6:] = 0


def lava():
    import torch
    from lava.lib.dl import slayer
    from lava.lib.dl.netx import hdf5
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io
    from lava.proc.monitor.process import Monitor

    torch.manual_seed(3)
    params = {"threshold": 1.0, "current_decay": 0.5, "voltage_decay": 0.25}
    b0 = slayer.block.cuba.Dense(params, 6, 5, weight_scale=3, delay=True)
    # The readout: slayer's non-spiking Affine block, exported with its neuron dynamics.
    b1 = slayer.block.cuba.Affine(params, 5, 3, weight_scale=3, dynamics=True)
    with torch.no_grad():
        b0(torch.zeros(1, 6, 4))  # SLAYER sizes its delays on the first call
        b0.delay.delay.data = torch.tensor([0.0, 3.0, 1.0, 5.0, 2.0]).reshape(b0.delay.delay.shape)
    path = os.path.join(OUT, "slayer_netx.net")
    with h5py.File(path, "w") as f:
        layer = f.create_group("layer")
        b0.export_hdf5(layer.create_group("0"))
        b1.export_hdf5(layer.create_group("1"))
    net = hdf5.Network(net_config=path)
    total = STEPS + 2
    data = np.zeros((6, total), dtype=np.int32)
    data[:, :STEPS] = INPUT.T
    source = io.source.RingBuffer(data=data)
    source.s_out.connect(net.inp)
    sink = io.sink.RingBuffer(shape=net.layers[0].out.shape, buffer=total)
    net.layers[0].out.connect(sink.a_in)
    monitor = Monitor()
    monitor.probe(net.layers[1].neuron.v, total)
    net.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    spikes = sink.data.get().T.astype(int)
    v = monitor.get_data()[net.layers[1].neuron.name]["v"].astype(int)
    net.stop()
    assert spikes.sum() > 0, "the fixture should spike"
    json.dump({"writer": "lava-dl 0.6.0 slayer block.cuba.Dense.export_hdf5; run by lava-nc 0.10.0 "
                         "netx hdf5.Network on Loihi2SimCfg(select_tag='fixed_pt')",
               "input": INPUT.tolist(), "lava_steps": total,
               "hidden_spikes": spikes.tolist(), "readout_v": v.tolist()},
              open(os.path.join(OUT, "slayer_netx.json"), "w"))
    print("wrote slayer_netx.net/.json:", int(spikes.sum()), "hidden spikes")


def snntorch_fixture():
    import nir
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir
    from snntorch.import_nir import import_from_nir

    torch.manual_seed(5)
    model = torch.nn.Sequential(
        torch.nn.Linear(6, 5),
        snn.Leaky(beta=0.75, init_hidden=True, reset_mechanism="zero"),
        torch.nn.Linear(5, 3),
        snn.Leaky(beta=0.5, init_hidden=True, reset_mechanism="zero", output=True),
    )
    with torch.no_grad():
        model[0].weight.mul_(3.0)
        model[2].weight.mul_(3.0)
    graph = export_to_nir(model, torch.zeros(6))
    # snnTorch writes a layer's shared constants as 0-d arrays, which nir.write cannot compress:
    # give each neuron its value.
    for name, node in graph.nodes.items():
        if isinstance(node, nir.LIF):
            src = [a for a, b in graph.edges if b == name][0]
            n = graph.nodes[src].weight.shape[0]
            for f in ("tau", "r", "v_leak", "v_threshold", "v_reset"):
                setattr(node, f, np.broadcast_to(np.asarray(getattr(node, f), np.float32).reshape(-1), (n,)).copy())
    path = os.path.join(OUT, "snntorch.nir")
    nir.write(path, graph)
    back = import_from_nir(nir.read(path))
    for m in back.modules():
        if hasattr(m, "reset_mem"):
            m.reset_mem()
    lifs = sorted(k for k, n in graph.nodes.items() if isinstance(n, nir.LIF))
    state, rec = None, {k: [] for k in lifs}
    for t in range(STEPS):
        with torch.no_grad():
            _, state = back(torch.from_numpy(INPUT[t : t + 1].astype(np.float32)), state)
        for k in lifs:
            rec[k].append(state.cache[k][0].numpy().astype(int).tolist())
    assert sum(map(sum, rec[lifs[0]])) > 0
    json.dump({"writer": "snntorch 0.9.4 export_to_nir + nir 1.0.8 nir.write; run by "
                         "snntorch.import_nir (nirtorch 2.0.5), one step = 1e-4 s",
               "input": INPUT.tolist(), "spiking_nodes": lifs, "spikes": rec},
              open(os.path.join(OUT, "snntorch.json"), "w"))
    print("wrote snntorch.nir/.json:", {k: int(np.sum(v)) for k, v in rec.items()}, "spikes")


if __name__ == "__main__":
    {"lava": lava, "snntorch": snntorch_fixture}[sys.argv[1]]()
