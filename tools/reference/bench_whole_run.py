"""Whole training runs side by side: the reference's training loop (rebuilt from refnet.py as
model.py's train_model / eval_model run it, method §12-§15) and `spikedelay train`, on the same
synthetic files, recipe, epochs and threads. Prints each epoch's seconds with the σ it trained
at, the totals, and a Markdown table for BENCHMARKS.md; writes the raw records as JSON lines.

    cargo build --release
    tools/reference/.venv/bin/python tools/reference/bench_whole_run.py [--datasets shd,gsc]
        [--epochs 16] [--threads 2] [--shd-train-per-class 64] [--gsc-speakers 40]

Per epoch both sides do the same work: every training batch (forward, loss, backward, both Adam
steps, clamp), the schedulers, the σ update, and evaluation of the rounded model (§15) on the
validation split (SHD: the test set, as the reference; GSC: validation and test). Data
preparation (binning spike files, GSC log-mel features) happens once before the first epoch on
both sides and is reported apart: spikedelay caches it, and here the reference's features are
computed once too, although its loader recomputes GSC features every epoch (so this favours the
reference). The GSC recipe runs at 2 × 256 (the paper's 3 × 512 would take hours per side here).
"""

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from refnet import RefNet, init_reference, optimisers, round_for_eval, train_step

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPIKEDELAY = ROOT / "target/release/spikedelay"

GSC_WORDS = ["backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
             "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on",
             "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up",
             "visual", "wow", "yes", "zero"]

# The presets (method §18); GSC at 2 × 256.
RECIPES = {
    "shd": dict(preset="shd", hidden=[256, 256], outputs=20, taps=25, tau=(10.05 + 1e-9) / 10,
                dropout=0.4, sig=12.0, batch=256),
    "gsc": dict(preset="gsc", hidden=[256, 256], outputs=35, taps=31, tau=(15 + 1e-9) / 10,
                dropout=0.25, sig=15.0, batch=128),
}


# ---------------------------------------------------------------------------------------------
# Reference-side data: what spikingjelly and torchaudio produce (method §1, §17.1; datasets §6)

def bin_event_anchored(times, units):
    """(T, 140) pooled counts of one SHD sample, spikingjelly's event-anchored 10 ms windows."""
    t = (np.float16(1000) * times.astype(np.float16)).astype(np.float16)
    frames, left, n = [], 0, len(t)
    if n == 0:
        return np.zeros((1, 140), np.float32)
    while left < n:
        right = left
        while right < n and np.float16(t[right] - t[left]) <= 10:
            right += 1
        frames.append(np.bincount(units[left:right], minlength=700))
        left = right
    f = np.stack(frames).astype(np.float32)
    return f.reshape(len(frames), 140, 5).sum(2)


def load_shd(path):
    with h5py.File(path, "r") as f:
        xs = [bin_event_anchored(t, u.astype(np.int64)) for t, u in zip(f["spikes/times"], f["spikes/units"])]
        ys = f["labels"][:].astype(np.int64)
    return [torch.from_numpy(x) for x in xs], torch.from_numpy(ys)


def read_wav(path):
    """Mono float32 samples and rate of a PCM (8-32 bit), float32 or WAVE_FORMAT_EXTENSIBLE file,
    channels averaged (the stdlib's wave module reads plain PCM only)."""
    b = Path(path).read_bytes()
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(b):
        cid, size = b[pos:pos + 4], int.from_bytes(b[pos + 4:pos + 8], "little")
        body = b[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, ch, rate = (int.from_bytes(body[0:2], "little"), int.from_bytes(body[2:4], "little"),
                             int.from_bytes(body[4:8], "little"))
            bits = int.from_bytes(body[14:16], "little")
            if tag == 0xFFFE:
                tag = int.from_bytes(body[24:26], "little")
            fmt = (tag, ch, rate, bits)
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    tag, ch, rate, bits = fmt
    if tag == 3:
        vals = np.frombuffer(data, dtype="<f4").astype(np.float64)
    else:
        width = bits // 8
        raw = np.frombuffer(data[:len(data) // width * width], dtype=np.uint8).reshape(-1, width)
        v = np.zeros(len(raw), np.int64)
        for k in range(width):
            v |= raw[:, k].astype(np.int64) << (8 * k)
        if width == 1:
            vals = (v - 128) / 128.0
        else:
            v = np.where(v >= 1 << (8 * width - 1), v - (1 << (8 * width)), v)
            vals = v / float(1 << (8 * width - 1))
    x = torch.tensor(vals.reshape(-1, ch).mean(1), dtype=torch.float32)
    return x, rate


def load_gsc(root, split):
    import torchaudio
    root = Path(root)
    lists = {s: (root / f"{s}_list.txt").read_text().split() for s in ("validation", "testing")}
    if split == "training":
        held = set(lists["validation"]) | set(lists["testing"])
        files = sorted(str(p.relative_to(root)) for p in root.glob("*/*.wav")
                       if "_nohash_" in p.name and p.parent.name != "_background_noise_"
                       and str(p.relative_to(root)) not in held)
    else:
        files = lists[split]
    resample = torchaudio.transforms.Resample(16000, 8000)
    spec = torchaudio.transforms.Spectrogram(n_fft=256, hop_length=80, power=2.0)
    mel = torchaudio.transforms.MelScale(n_mels=140, sample_rate=8000, f_min=50, f_max=14000, n_stft=129)
    db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)
    xs, ys = [], []
    for rel in files:
        x, rate = read_wav(root / rel)
        if rate != 16000:
            x = torchaudio.functional.resample(x, rate, 16000)
        x = F.pad(x[None], (0, max(0, 16000 - x.shape[-1])))[..., :16000]
        xs.append(db(mel(spec(resample(x))))[0].T.contiguous())
        ys.append(GSC_WORDS.index(rel.split("/")[0]))
    return xs, torch.tensor(ys)


def batches(xs, ys, batch, shuffle, gen):
    order = torch.randperm(len(xs), generator=gen) if shuffle else torch.arange(len(xs))
    for s in range(0, len(xs), batch):
        idx = order[s:s + batch]
        x = torch.nn.utils.rnn.pad_sequence([xs[i] for i in idx], batch_first=True)
        yield x.transpose(0, 1).contiguous(), ys[idx]


# ---------------------------------------------------------------------------------------------
# The reference's training loop (method §12-§15)

def reference_run(recipe, splits, epochs, log):
    torch.manual_seed(0)
    net = RefNet(140, recipe["hidden"], recipe["outputs"], recipe["taps"], "learned", recipe["tau"],
                 recipe["dropout"], recipe["sig"])
    init_reference(net, recipe["taps"])
    opt1, opt2 = optimisers(net)
    sched1 = torch.optim.lr_scheduler.OneCycleLR(opt1, max_lr=5e-3, total_steps=epochs)
    sched2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=epochs)
    final_epoch = max(1, epochs // 4)
    alpha = (0.23 / recipe["sig"]) ** (1 / final_epoch)
    gen = torch.Generator().manual_seed(0)
    records = []
    for epoch in range(epochs):
        start = time.perf_counter()
        sigma = net.convs[0].SIG.flatten()[0].item() + 0.27
        net.train()
        for x, y in batches(*splits["train"], recipe["batch"], True, gen):
            train_step(net, opt1, opt2, x, y, {})
        sched1.step()
        sched2.step()
        if epoch < final_epoch:
            for conv in net.convs:
                if conv.SIG.flatten()[0].item() > 0.23:
                    conv.SIG *= alpha
        train_s = time.perf_counter() - start
        # Evaluation of the rounded model on a copy of the parameters (method §15).
        saved = copy.deepcopy(net.state_dict())
        round_for_eval(net)
        acc = {}
        with torch.no_grad():
            for name in splits["eval"]:
                xs, ys = splits[name]
                correct = 0
                for x, y in batches(xs, ys, recipe["batch"], False, None):
                    v = net(x, {})
                    correct += int((torch.softmax(v, 2).sum(0).argmax(1) == y).sum())
                    functional.reset_net(net)
                acc[name] = correct / len(ys)
        for conv in net.convs:
            conv.version = "gauss"
            conv.DCK.version = "gauss"
        net.load_state_dict(saved)
        seconds = time.perf_counter() - start
        records.append(dict(impl="reference", epoch=epoch + 1, sigma=sigma, seconds=seconds, train_seconds=train_s,
                            accuracy=acc))
        log(f"  reference epoch {epoch + 1:3d}  σ {sigma:6.2f}  {seconds:7.2f} s  (train {train_s:.2f} s)  "
            + "  ".join(f"{k} {100 * v:.1f} %" for k, v in acc.items()))
    return records


# ---------------------------------------------------------------------------------------------

def spikedelay_run(dataset, data_dir, epochs, threads, out, log):
    recipe = RECIPES[dataset]
    config = out.parent / f"{dataset}_2x256.toml"
    config.write_text(f"[model]\nhidden = {recipe['hidden']}\n")
    cmd = [SPIKEDELAY, "train", "--preset", recipe["preset"], "--config", config, "--data-dir", data_dir,
           "--epochs", str(epochs), "--threads", str(threads), "--out", out, "--overwrite"]
    if dataset == "shd":
        cmd += ["--select-on", "test"]  # the reference's protocol: the test set is its validation set
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    records = []
    for line in (out / "metrics.jsonl").read_text().splitlines():
        m = json.loads(line)
        acc = {"valid": m["valid_accuracy"], "test": m["test_accuracy"]}
        records.append(dict(impl="spikedelay", epoch=m["epoch"], sigma=m["sigma"], seconds=m["seconds"],
                            accuracy=acc))
        log(f"  spikedelay epoch {m['epoch']:3d}  σ {m['sigma']:6.2f}  {m['seconds']:7.2f} s  "
            f"valid {100 * acc['valid']:.1f} %  test {100 * acc['test']:.1f} %")
    return records, wall


def phase_of(sigma, sig_init):
    if sigma >= 0.5 * (sig_init + 0.27):
        return "early"
    if sigma > 0.5 + 1e-3:
        return "middle"
    return "late"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="shd,gsc")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shd-train-per-class", type=int, default=64)
    ap.add_argument("--shd-test-per-class", type=int, default=16)
    ap.add_argument("--gsc-speakers", type=int, default=40)
    ap.add_argument("--out", default=str(ROOT / "target/bench_whole_run.jsonl"))
    args = ap.parse_args()
    if not SPIKEDELAY.exists():
        sys.exit(f"{SPIKEDELAY} not found: run `cargo build --release` first")
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    log = lambda s: print(s, file=sys.stderr, flush=True)
    raw, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for dataset in args.datasets.split(","):
            recipe = RECIPES[dataset]
            data = tmp / dataset
            make = [SPIKEDELAY, "data", "make-synthetic", "--format", dataset, data]
            if dataset == "shd":
                make += ["--train-per-class", str(args.shd_train_per_class),
                         "--test-per-class", str(args.shd_test_per_class)]
            else:
                make += ["--speakers", str(args.gsc_speakers)]
            subprocess.run(make, check=True, stdout=subprocess.DEVNULL)
            start = time.perf_counter()
            if dataset == "shd":
                train, test = load_shd(data / "shd_train.h5"), load_shd(data / "shd_test.h5")
                splits = {"train": train, "test": test, "eval": ["test"]}
            else:
                splits = {s: load_gsc(data, n) for s, n in
                          (("train", "training"), ("valid", "validation"), ("test", "testing"))}
                splits["eval"] = ["valid", "test"]
            prep = time.perf_counter() - start
            log(f"{dataset}: {len(splits['train'][1])} training samples; reference data preparation {prep:.1f} s")
            # Alternate the order between datasets so machine drift hits both sides.
            ours, wall = spikedelay_run(dataset, data, args.epochs, args.threads, tmp / f"{dataset}-run", log)
            ref = reference_run(recipe, splits, args.epochs, log)
            raw += ref + ours
            rows.append((dataset, recipe, ref, ours, prep, wall))
    Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in raw))

    print(f"| dataset | σ phase | epochs | reference s/epoch (median) | spikedelay s/epoch (median) | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for dataset, recipe, ref, ours, prep, wall in rows:
        for phase in ("early", "middle", "late"):
            r = [x["seconds"] for x in ref if phase_of(x["sigma"], recipe["sig"]) == phase]
            o = [x["seconds"] for x in ours if phase_of(x["sigma"], recipe["sig"]) == phase]
            if r and o:
                print(f"| {dataset} | {phase} | {len(o)} | {statistics.median(r):.2f} | "
                      f"{statistics.median(o):.2f} | {statistics.median(r) / statistics.median(o):.2f}× |")
        rt, ot = sum(x["seconds"] for x in ref), sum(x["seconds"] for x in ours)
        worst = max(x["seconds"] / y["seconds"] for x, y in zip(ours, ref))
        print(f"| {dataset} | **whole run** | {len(ours)} | {rt:.1f} s total | {ot:.1f} s total "
              f"(process {wall:.1f} s) | **{rt / ot:.2f}×** (slowest epoch ratio {1 / worst:.2f}×) |")
    print(f"\nraw records in {args.out}")


if __name__ == "__main__":
    main()
