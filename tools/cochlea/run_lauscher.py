"""Runs lauscher's Wave2Spike chain on one WAV file stage by stage and saves every stage
(npz: velocity, probability, rate, spike times and channels) for tools/cochlea/check.py.

usage: run_lauscher.py WAV SEED OUT.npz [--channels N] [--jobs J]
The fibres are drawn after np.random.seed(SEED), as `spikedelay data cochlea --sampler exact
--seed SEED` draws them."""
import argparse
import time

import numpy as np
from lauscher.audiowaves import FileMonoAudioWave
from lauscher.helpers import CommandLineArguments
from lauscher.transformations import (BasilarMembrane, BushyCell, HairCell, HanningWindow,
                                      RmsNormalizer)

ap = argparse.ArgumentParser()
ap.add_argument("wav")
ap.add_argument("seed", type=int)
ap.add_argument("out")
ap.add_argument("--channels", type=int, default=700)
ap.add_argument("--jobs", type=int, default=1)
args = ap.parse_args()
CommandLineArguments().num_concurrent_jobs = args.jobs

t0 = time.time()
wave = FileMonoAudioWave(args.wav).transform(RmsNormalizer(0.3)).transform(HanningWindow())
velocity = wave.transform(BasilarMembrane(channels=args.channels))
probability = velocity.transform(HairCell())
np.random.seed(args.seed)
spikes = probability.transform(BushyCell())
seconds = time.time() - t0
np.savez(args.out, velocity=velocity.channels, probability=probability.channels,
         rate=velocity.sample_rate, times=spikes.spike_times, channels=spikes.spike_labels,
         seconds=seconds)
print(f"{args.wav}: {len(spikes.spike_times)} spikes in {seconds:.1f} s")
