"""spikedelay's cochlea against lauscher itself (docs/cochlea.md §8): CLIPS spoken digits (half
English, half German, different speakers; silence trimmed) at 16 and 48 kHz; for each, lauscher's
stages and spikes after np.random.seed(k) (cached in WORK/lauscher/) against `spikedelay data
cochlea --sampler exact --seed k --stages`, and the fast sampler's spike counts against the
exact ones. Prints a markdown table and writes WORK/check.json.

usage: check.py DIGITS WORK SPIKEDELAY [--clips 10] [--rates 16000,48000] [--jobs 1]"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

HERE = os.path.dirname(os.path.abspath(__file__))


def pick(digits, n):
    words = [w.strip() for w in open(os.path.join(digits, "classes.txt"))]
    clips = []
    speakers = sorted({os.path.basename(p).split("_nohash_")[0]
                       for p in glob.glob(os.path.join(digits, "*", "*.wav"))})
    for k in range(n):
        word = words[(k * 7) % len(words)]   # alternates English and German words
        speaker = speakers[(k * 5) % len(speakers)]
        clips.append(os.path.join(digits, word, f"{speaker}_nohash_0.wav"))
    return clips


def prepared(clip, rate, work):
    out = os.path.join(work, "clips", f"{os.path.basename(os.path.dirname(clip))}-"
                       f"{os.path.basename(clip)[:-4]}-{rate}.wav")
    if not os.path.exists(out):
        x, fs = sf.read(clip)
        loud = np.nonzero(np.abs(x) > 1e-3 * np.abs(x).max())[0]
        pad = int(0.01 * fs)
        x = x[max(loud[0] - pad, 0):loud[-1] + pad]
        y = np.clip(resample_poly(x, rate, fs), -1, 1)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        sf.write(out, y, rate, subtype="PCM_16")
    return out


def run(cmd):
    t = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.time() - t


def spikes_of(h5):
    import h5py
    with h5py.File(h5, "r") as f:
        return f["spikes/times"][0].astype(np.float64), f["spikes/units"][0].astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("digits")
    ap.add_argument("work")
    ap.add_argument("spikedelay")
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--rates", default="16000,48000")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--lauscher-only", action="store_true")
    a = ap.parse_args()
    rows = []
    for rate in [int(r) for r in a.rates.split(",")]:
        for k, clip in enumerate(pick(a.digits, a.clips)):
            wav = prepared(clip, rate, a.work)
            name = os.path.basename(wav)[:-4]
            ref = os.path.join(a.work, "lauscher", name + ".npz")
            if not os.path.exists(ref):
                os.makedirs(os.path.dirname(ref), exist_ok=True)
                subprocess.run([sys.executable, os.path.join(HERE, "run_lauscher.py"), wav,
                                str(k), ref + ".tmp.npz", "--jobs", str(a.jobs)], check=True)
                os.rename(ref + ".tmp.npz", ref)
            if a.lauscher_only:
                continue
            ours = os.path.join(a.work, "ours", name)
            os.makedirs(os.path.dirname(ours), exist_ok=True)
            stages = ours + "-stages.h5"
            for d in (ours + "-exact", ours + "-fast", ours + "-stages"):
                subprocess.run(["rm", "-rf", d], check=True)
            run([a.spikedelay, "data", "cochlea", wav, "--out", ours + "-stages",
                 "--stages", stages])
            exact_s = run([a.spikedelay, "data", "cochlea", wav, "--out", ours + "-exact",
                           "--sampler", "exact", "--seed", str(k), "--threads", "1"])
            fast_s = run([a.spikedelay, "data", "cochlea", wav, "--out", ours + "-fast",
                          "--seed", str(k), "--threads", "1"])
            cmp = subprocess.run([sys.executable, os.path.join(HERE, "compare.py"), ref, stages,
                                  os.path.join(ours + "-exact", "spikes.h5")],
                                 check=True, capture_output=True, text=True)
            row = json.loads(cmp.stdout)
            _, units_fast = spikes_of(os.path.join(ours + "-fast", "spikes.h5"))
            row.update(clip=name, rate=rate, seconds_audio=sf.info(wav).duration,
                       ours_exact_seconds=exact_s, ours_fast_seconds=fast_s,
                       spikes_fast=len(units_fast))
            rows.append(row)
            print(json.dumps(row), flush=True)
    if a.lauscher_only:
        return
    with open(os.path.join(a.work, "check.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("\n| clip | rate | audio s | velocity rel | probability rel | lauscher spikes | identical | only lauscher | only ours | fast spikes | lauscher s | ours exact s | ours fast s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['clip']} | {r['rate']} | {r['seconds_audio']:.2f} | {r['velocity_rel']:.1e} | "
              f"{r['probability_rel']:.1e} | {r['spikes_lauscher']} | {r['identical']} | "
              f"{r['only_lauscher']} | {r['only_ours']} | {r['spikes_fast']} | "
              f"{r['lauscher_seconds']:.0f} | {r['ours_exact_seconds']:.2f} | {r['ours_fast_seconds']:.2f} |")
    total = sum(r["spikes_lauscher"] for r in rows)
    same = sum(r["identical"] for r in rows)
    worst = max(max(r["velocity_rel"], r["probability_rel"]) for r in rows)
    print(f"\nspikes identical: {same} of {total} ({100.0 * same / max(total, 1):.3f} %); "
          f"worst stage difference {worst:.1e}")
    ok = same >= 0.999 * total and worst <= 1e-5
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
