"""Writes the small lauscher fixtures CI checks the cochlea stages against without Python
(crates/spikedelay/tests/fixtures/cochlea/*.h5): the loudest 50 ms (16 kHz) and 30 ms (48 kHz)
of a spoken digit, lauscher's membrane velocity and firing probability for every 35th of 700
channels, and its spikes after np.random.seed(7).

usage: make_fixtures.py DIGITS OUT_DIR   (in the venv of tools/cochlea/check.sh)"""
import os
import sys

import h5py
import numpy as np
import soundfile as sf
from lauscher.audiowaves import MonoAudioWave
from lauscher.helpers import CommandLineArguments
from lauscher.transformations import (BasilarMembrane, BushyCell, HairCell, HanningWindow,
                                      RmsNormalizer)
from scipy.signal import resample_poly

CommandLineArguments().num_concurrent_jobs = 1
digits, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
x, fs = sf.read(os.path.join(digits, "seven", "m1s130p35_nohash_0.wav"))
for rate, seconds in ((16000, 0.05), (48000, 0.03)):
    y = np.clip(resample_poly(x, rate, fs), -1, 1)
    y = np.round(y * 32767) / 32768.0          # as 16-bit PCM reads back
    n = int(seconds * rate)
    energy = np.convolve(y ** 2, np.ones(n), mode="valid")
    start = int(np.argmax(energy))
    wave = y[start:start + n].copy()
    w = MonoAudioWave(wave.copy(), rate).transform(RmsNormalizer(0.3)).transform(HanningWindow())
    velocity = w.transform(BasilarMembrane(channels=700))
    probability = velocity.transform(HairCell())
    np.random.seed(7)
    spikes = probability.transform(BushyCell())
    rows = np.arange(0, 700, 35)
    path = os.path.join(out, f"lauscher-{rate // 1000}k.h5")
    with h5py.File(path, "w") as f:
        f["wave"] = wave
        f["rate"] = np.array([rate], dtype=np.int64)
        f["rows"] = rows.astype(np.int64)
        f["velocity"] = velocity.channels[rows]
        f["probability"] = probability.channels[rows]
        f["seed"] = np.array([7], dtype=np.int64)
        f["spike_index"] = np.rint(spikes.spike_times * velocity.sample_rate).astype(np.int64)
        f["spike_channel"] = spikes.spike_labels.astype(np.int64)
    print(f"{path}: {n} samples, {len(spikes.spike_times)} spikes")
