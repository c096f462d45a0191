"""NIR checks (docs/deploy.md §5), in tools/deploy/.venv (nir 1.0.8, snnTorch 0.9.4, nirtorch 2.0.5):

    python nir_check.py read NET.nir                 # the reference package reads our delay export
    python nir_check.py snntorch NODELAY.nir TRACE.h5  # snnTorch runs a --delays none export

`read` loads the file with `nir.read`, checks every node's type and shapes against the graph's
edges, and prints what it found. `snntorch` imports the graph with `snntorch.import_nir` and runs
the trace's inputs step by step: hidden spikes must equal spikedelay's and the readout membranes
agree to float32 rounding. snnTorch has no `LI` node, so the readout is given to it as a `LIF`
whose threshold is never reached (the same membrane update); snnTorch assumes one step is 1e-4 s
(export with --nir-dt 1e-4).
"""
import sys

import h5py
import nir
import numpy as np
from results import record


def read(path):
    g = nir.read(path)
    kinds = {}
    for name, node in g.nodes.items():
        kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
    for src, dst in g.edges:
        assert src in g.nodes and dst in g.nodes, (src, dst)
    delays = [n for n in g.nodes.values() if isinstance(n, nir.Delay)]
    lifs = [n for n in g.nodes.values() if isinstance(n, nir.LIF)]
    lis = [n for n in g.nodes.values() if isinstance(n, nir.LI)]
    assert lifs and len(lis) == 1, kinds
    for name, node in g.nodes.items():
        if isinstance(node, (nir.Affine, nir.Linear)):
            for src, dst in g.edges:
                if src == name:
                    target = g.nodes[dst]
                    assert target.tau.shape[0] == node.weight.shape[0], (name, dst)
    steps = sorted({round(float(d.delay[0]) / float(g.metadata["dt"])) for d in delays})
    print(f"nir {nir.__name__} read {path}: {len(g.nodes)} nodes {dict(sorted(kinds.items()))}, "
          f"{len(g.edges)} edges, delay buckets of {steps[0]}..{steps[-1]} steps, "
          f"metadata keys {sorted(g.metadata)}")
    record(check="nir-read", nodes=len(g.nodes), delay_buckets=len(delays), edges=len(g.edges))


def snntorch_check(path, trace_path):
    import torch
    from snntorch.import_nir import import_from_nir

    g = nir.read(path)
    assert not any(isinstance(n, nir.Delay) for n in g.nodes.values()), "export with --delays none"
    ro = g.nodes["readout"]
    g.nodes["readout"] = nir.LIF(tau=ro.tau, r=ro.r, v_leak=ro.v_leak,
                                 v_threshold=np.full_like(ro.tau, 1e30), v_reset=np.zeros_like(ro.tau))
    net = import_from_nir(g)
    with h5py.File(trace_path, "r") as t:
        x = t["input"][()].astype(np.float32)
        ours = [t[f"spikes/{k}"][()] for k in range(len(t["spikes"]))]
        readout = t["readout"][()]
    n, steps = readout.shape[0], readout.shape[1]
    lif_names = sorted(k for k in g.nodes if k.endswith("_lif"))
    worst, spikes = 0.0, 0
    for s in range(n):
        # snnTorch neurons keep their last membrane between calls without a state: clear it.
        for m in net.modules():
            if hasattr(m, "reset_mem"):
                m.reset_mem()
        state = None
        for t in range(steps):
            xt = torch.zeros(1, x.shape[2])
            if t < x.shape[1]:
                xt[0] = torch.from_numpy(x[s, t])
            with torch.no_grad():
                _, state = net(xt, state)
            for l, name in enumerate(lif_names):
                spk = state.cache[name][0].numpy() != 0
                mine = ours[l][s, t] != 0
                if not np.array_equal(spk, mine):
                    idx = np.flatnonzero(spk != mine)
                    print(f"sample {s} step {t}: {name} spikes differ at {idx} (snnTorch {spk[idx]}, spikedelay {mine[idx]}); membrane {state.state[name][0][0].numpy()[idx] if not spk[idx[0]] else 'reset'}")
                    sys.exit(1)
                spikes += int(spk.sum())
            mem = state.state["readout"][0][0].numpy()
            scale = max(1.0, float(np.abs(readout[s, t]).max()))
            worst = max(worst, float(np.abs(mem - readout[s, t]).max()) / scale)
    assert worst < 1e-5, worst
    print(f"snnTorch == spikedelay on {n} samples x {steps} steps: {spikes} hidden spikes identical, "
          f"readout within {worst:.1e} (relative, float32 sums in another order)")
    record(check="snntorch", samples=n, spikes=spikes, readout_error=worst)


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read(sys.argv[2])
    else:
        snntorch_check(sys.argv[2], sys.argv[3])
