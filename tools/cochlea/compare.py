"""Compares spikedelay's cochlea with lauscher's on one clip: the deterministic stages (worst
per-channel relative difference, max|ours − lauscher| / max|lauscher|) and the exact sampler's
spikes (identical, only lauscher's, only ours).

usage: compare.py LAUSCHER.npz STAGES.h5 SPIKES.h5   (prints one JSON line)"""
import json
import sys

import h5py
import numpy as np


def worst_relative(ours, theirs):
    scale = np.max(np.abs(theirs), axis=1)
    diff = np.max(np.abs(ours - theirs), axis=1)
    ok = scale > 0
    return float(np.max(diff[ok] / scale[ok])) if ok.any() else float(np.max(diff))


def main(lauscher_npz, stages_h5, spikes_h5):
    ref = np.load(lauscher_npz)
    with h5py.File(stages_h5, "r") as f:
        velocity = f["velocity"][()]
        probability = f["probability"][()]
        rate = int(f["rate"][0])
    with h5py.File(spikes_h5, "r") as f:
        times = f["spikes/times"][0].astype(np.float64)
        units = f["spikes/units"][0].astype(np.int64)
    assert rate == int(ref["rate"]), (rate, int(ref["rate"]))
    assert velocity.shape == ref["velocity"].shape, (velocity.shape, ref["velocity"].shape)
    # Spike times are stored as float16 seconds: compare on lauscher's sample grid.
    ours = set(zip(np.rint(times * rate).astype(np.int64).tolist(), units.tolist()))
    theirs_t = np.rint(ref["times"] * rate).astype(np.int64)
    theirs = set(zip(theirs_t.tolist(), ref["channels"].astype(np.int64).tolist()))
    # float16 cannot hold every sample index exactly: match each spike within its rounding.
    f16 = np.rint(ref["times"].astype(np.float16).astype(np.float64) * rate).astype(np.int64)
    theirs16 = set(zip(f16.tolist(), ref["channels"].astype(np.int64).tolist()))
    same = len(ours & theirs16)
    print(json.dumps({
        "velocity_rel": worst_relative(velocity, ref["velocity"]),
        "probability_rel": worst_relative(probability, ref["probability"]),
        "spikes_lauscher": len(theirs),
        "spikes_ours": len(ours),
        "identical": same,
        "only_lauscher": len(theirs16 - ours),
        "only_ours": len(ours - theirs16),
        "lauscher_seconds": float(ref["seconds"]),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
