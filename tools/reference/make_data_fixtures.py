"""Data fixtures written by the reference stack (h5py, torchaudio), for the Rust tests.

Writes into crates/spikedelay/tests/fixtures/data/:

- shd_h5py.h5 + shd_h5py.json: a tiny SHD-format file written by h5py (libhdf5), with float16
  vlen times, uint16 vlen units, uint16 labels and speakers, byte-string keys and meta_info, and
  the exact values it holds (times as the stored float16 values, in seconds).
- gsc/*.wav + logmel.safetensors: clips and their features from the reference's torchaudio
  chain (Resample 16k→8k, Spectrogram n_fft 256 hop 80, MelScale 140 bins 50..f_max, power→dB),
  for f_max = 14000 (the reference) and 4000 (the corrected variant). One clip is 22.05 kHz
  stereo 24-bit: it is downmixed (mean of channels) and resampled to 16 kHz with
  torchaudio.functional.resample first.

With --check FILE..., instead reads SHD-format files written by spikedelay with h5py and prints
their types and first samples (used to check our writer against libhdf5).

Deterministic: reruns write identical files.
"""

import json
import sys
import wave
from pathlib import Path

import h5py
import numpy as np
import torch
import torchaudio
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/spikedelay/tests/fixtures/data"


def write_h5py_fixture():
    rng = np.random.default_rng(7)
    samples = [
        ([0.0, 0.010, 0.0105, 0.0201], [3, 4, 699, 0]),  # method §17.3 test vector
        ([], []),  # no spikes
        ([0.25, 0.25, 0.26], [10, 11, 10]),  # identical times
        ([0.5, 0.51, 0.52], [100, 100, 100]),  # 10 ms apart
        ([1.2345, 1.4], [5, 6]),  # above 1 s: float16 quantisation
    ]
    for _ in range(3):
        n = int(rng.integers(20, 60))
        t = np.sort(rng.uniform(0, 1.3, n))
        samples.append((t.tolist(), rng.integers(0, 700, n).tolist()))
    labels = [0, 1, 19, 10, 5, 7, 2, 11]
    speakers = [0, 4, 5, 11, 1, 2, 3, 9]
    keys = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"]
    path = OUT / "shd_h5py.h5"
    with h5py.File(path, "w", track_order=False) as f:
        vf16 = h5py.vlen_dtype(np.dtype("float16"))
        vu16 = h5py.vlen_dtype(np.dtype("uint16"))
        times = f.create_dataset("spikes/times", (len(samples),), dtype=vf16)
        units = f.create_dataset("spikes/units", (len(samples),), dtype=vu16)
        for i, (t, u) in enumerate(samples):
            times[i] = np.asarray(t, dtype=np.float16)
            units[i] = np.asarray(u, dtype=np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16))
        f.create_dataset("extra/speaker", data=np.asarray(speakers, dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.asarray([k.encode() for k in keys], dtype=object),
                         dtype=h5py.string_dtype(encoding="utf-8"))
        f.create_dataset("extra/meta_info/gender", data=np.asarray([b"male", b"female"] * 6))
        f.create_dataset("extra/meta_info/age", data=np.arange(20, 32, dtype=np.uint16))
    expected = {
        "times": [np.asarray(t, dtype=np.float16).astype(np.float64).tolist() for t, _ in samples],
        "units": [list(map(int, u)) for _, u in samples],
        "labels": labels,
        "speakers": speakers,
        "keys": keys,
    }
    (OUT / "shd_h5py.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


def write_wav(path, data, rate, bits):
    """data: (frames, channels) float in [-1, 1)."""
    scale = 2 ** (bits - 1)
    ints = np.clip(np.round(data * scale), -scale, scale - 1).astype(np.int64)
    raw = b"".join(int(v).to_bytes(bits // 8, "little", signed=True) for v in ints.reshape(-1))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(bits // 8)
        w.setframerate(rate)
        w.writeframes(raw)
    return ints.astype(np.float64) / scale  # what a reader decodes


def clip(rng, seconds, rate, channels=1):
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    f0 = 180 + 80 * rng.random()
    chirp = np.sin(2 * np.pi * (f0 * t + 900 * t**2))
    tones = sum(0.2 * np.sin(2 * np.pi * f * t + rng.random()) for f in rng.uniform(200, 3800, 4))
    noise = 0.05 * rng.standard_normal(n)
    env = np.minimum(1.0, 8 * t) * np.minimum(1.0, 8 * (t[-1] - t) + 0.05)
    x = 0.3 * env * (chirp + tones) + noise
    return np.stack([x * (1 - 0.2 * c) for c in range(channels)], axis=1) * 0.5


def reference_features(wave16k, f_max):
    x = torch.tensor(wave16k, dtype=torch.float32)[None]
    x = torch.nn.functional.pad(x, (0, max(0, 16000 - x.shape[-1])))[..., :16000]
    x = torchaudio.transforms.Resample(16000, 8000)(x)
    spec = torchaudio.transforms.Spectrogram(n_fft=256, hop_length=80, power=2.0)(x)
    mel = torchaudio.transforms.MelScale(n_mels=140, sample_rate=8000, f_min=50, f_max=f_max,
                                         n_stft=129)(spec)
    db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)(mel)
    return db[0].T.contiguous().numpy()  # (101, 140)


def write_gsc_fixtures():
    rng = np.random.default_rng(11)
    d = OUT / "gsc"
    d.mkdir(parents=True, exist_ok=True)
    cases = [("full", 1.0, 16000, 1, 16), ("short", 0.7, 16000, 1, 16),
             ("long", 1.2, 16000, 1, 16), ("stereo22k", 0.9, 22050, 2, 24)]
    tensors = {}
    for name, seconds, rate, channels, bits in cases:
        decoded = write_wav(d / f"{name}.wav", clip(rng, seconds, rate, channels), rate, bits)
        mono = torch.tensor(decoded.mean(axis=1), dtype=torch.float32)
        if rate != 16000:
            mono = torchaudio.functional.resample(mono, rate, 16000)
        for f_max in (14000, 4000):
            tensors[f"{name}.fmax{f_max}"] = reference_features(mono.numpy(), f_max)
    save_file(tensors, str(OUT / "logmel.safetensors"))


def check(paths):
    for p in paths:
        with h5py.File(p, "r") as f:
            t, u = f["spikes/times"], f["spikes/units"]
            print(p, "times", t.dtype, t[0].dtype, "units", u[0].dtype, "labels", f["labels"].dtype,
                  "n", len(t), "keys", [k.decode() if isinstance(k, bytes) else k
                                        for k in f["extra/keys"][:]][:3])
            print("  first sample", t[0][:5], u[0][:5], "speaker", f["extra/speaker"][0])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        check(sys.argv[2:])
    else:
        torch.set_num_threads(1)
        OUT.mkdir(parents=True, exist_ok=True)
        write_h5py_fixture()
        write_gsc_fixtures()
        print("wrote", OUT)
