"""The Python package against the library and the CLI (run by .ci/run after the Rust tests)."""
import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import spikedelay

TINY = {
    "data": {"classes": 4, "channels": 8, "motif_channels": 4, "steps": 32, "train_samples": 96,
             "valid_samples": 48, "test_samples": 48},
    "model": {"hidden": [12]},
    "train": {"epochs": 3, "batch_size": 32},
}


def tiny(**train):
    cfg = spikedelay.RunConfig.from_dict(TINY)
    return cfg.replace({"train": train}) if train else cfg


def cli():
    """The spikedelay binary built by `cargo test --release` (or $SPIKEDELAY_CLI)."""
    repo = Path(__file__).resolve().parents[2]
    path = Path(os.environ.get("SPIKEDELAY_CLI", repo / "target" / "release" / "spikedelay"))
    if not path.is_file():
        pytest.skip(f"the CLI binary {path} is not built")
    return str(path)


def test_config_round_trips_and_names_bad_keys(tmp_path):
    cfg = tiny()
    assert spikedelay.RunConfig.from_dict(cfg.to_dict()) == cfg
    f = tmp_path / "c.toml"
    f.write_text(cfg.to_toml())
    assert spikedelay.RunConfig.from_toml(f) == cfg
    assert cfg.to_dict()["model"]["hidden"] == [12]
    assert spikedelay.RunConfig.preset("shd").to_dict()["data"]["dataset"] == "spike-file"
    with pytest.raises(ValueError, match="max_lr"):
        cfg.replace({"train": {"max_lr": -1.0}})
    with pytest.raises(ValueError, match="hiden"):
        spikedelay.RunConfig.from_dict({"model": {"hiden": [3]}})
    with pytest.raises(ValueError, match="preset"):
        spikedelay.RunConfig.preset("nope")
    with pytest.raises(FileNotFoundError):
        spikedelay.load(tmp_path / "missing.safetensors")


def test_python_training_is_the_cli_run_bit_for_bit(tmp_path):
    cfg = tiny()
    (tmp_path / "c.toml").write_text(cfg.to_toml())
    subprocess.run([cli(), "train", "--config", str(tmp_path / "c.toml"), "--out",
                    str(tmp_path / "cli")], check=True, capture_output=True)
    seen = []
    summary = spikedelay.train(cfg, out=tmp_path / "py", callback=seen.append)
    assert [m["epoch"] for m in seen] == [1, 2, 3]
    theirs = json.loads((tmp_path / "cli" / "summary.json").read_text())
    ours = json.loads((tmp_path / "py" / "summary.json").read_text())
    for d in (theirs, ours, summary):
        d.pop("wall_seconds")
    # The same data, evaluation and convolution paths; the builds may differ in their commit.
    for key in ("data", "eval_steps", "conv_paths", "version"):
        assert ours["provenance"][key] == theirs["provenance"][key], key
    provenance = [d.pop("provenance") for d in (theirs, ours)]
    assert summary.pop("provenance") == provenance[1]
    assert ours == theirs
    assert summary == ours
    strip = lambda p: [{k: v for k, v in json.loads(l).items() if k not in ("seconds", "threads")}
                       for l in p.read_text().splitlines()]
    assert strip(tmp_path / "py" / "metrics.jsonl") == strip(tmp_path / "cli" / "metrics.jsonl")
    with pytest.raises(Exception, match="holds a run"):
        spikedelay.train(cfg, out=tmp_path / "py")


def test_predict_and_evaluate_equal_cli_eval(tmp_path):
    cfg = tiny()
    spikedelay.train(cfg, out=tmp_path / "run")
    model = spikedelay.load(tmp_path / "run" / "best.safetensors")
    out = subprocess.run([cli(), "eval", "--json", "--checkpoint",
                          str(tmp_path / "run" / "best.safetensors")],
                         check=True, capture_output=True, text=True).stdout
    theirs = json.loads(out)["test"]
    ours = model.evaluate("test")
    assert ours["confusion"] == theirs["confusion"]
    assert ours["correct"] == theirs["correct"]
    data = spikedelay.datasets.load(cfg)
    x, y, lengths = data["test"]
    assert x.dtype == np.float32 and x.shape[0] == y.shape[0] == lengths.shape[0]
    pred = model.predict(x)
    assert int((pred == y).sum()) == theirs["correct"]
    readout, decisions, spikes = model.forward(x.astype(np.int32))
    assert (decisions == pred).all()
    assert readout.shape[:2][0] == x.shape[0] and len(spikes) == 1
    delays, weights = model.delays(), model.weights()
    assert [d.shape for d in delays] == [w.shape for w in weights] == [(12, 8, 1), (4, 12, 1)]
    assert delays[0].min() >= 0 and delays[0].max() <= 24


def test_a_gpu_trained_run_loads_and_decides_alike_on_every_device(tmp_path):
    # The software device runs the GPU's kernels on the host (docs/design.md §9).
    cfg = tiny()
    summary = spikedelay.train(cfg, out=tmp_path / "run", device="software")
    assert summary["provenance"]["device"] == "software"
    cpu = spikedelay.load(tmp_path / "run" / "best.safetensors")
    dev = spikedelay.load(tmp_path / "run" / "best.safetensors", device="software")
    assert dev.evaluate("test")["confusion"] == cpu.evaluate("test")["confusion"]
    x, y, lengths = spikedelay.datasets.load(cfg)["test"]
    assert (dev.predict(x, lengths) == cpu.predict(x, lengths)).all()
    with pytest.raises(Exception, match="device"):
        spikedelay.load(tmp_path / "run" / "best.safetensors", device="gpu")


def test_bad_arrays_are_named_errors(tmp_path):
    spikedelay.train(tiny(epochs=1), out=tmp_path / "run")
    model = spikedelay.load(tmp_path / "run" / "best.safetensors")
    with pytest.raises(TypeError, match="dtype <U1"):
        model.predict(np.array([[["a"]]]))
    with pytest.raises(ValueError, match=r"\(batch, time, channels\)"):
        model.predict(np.zeros((3, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="takes 8"):
        model.predict(np.zeros((1, 5, 7), dtype=np.float32))
    x = np.zeros((4, 10, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="class 9"):
        spikedelay.train(tiny(epochs=1), data={"train": (x, np.array([0, 1, 9, 2])),
                                               "valid": (x, np.zeros(4, int)),
                                               "test": (x, np.zeros(4, int)), "classes": 4})
    with pytest.raises(TypeError, match="integer class ids"):
        spikedelay.train(tiny(epochs=1), data={"train": (x, np.zeros(4)), "valid": (x, np.zeros(4, int)),
                                               "test": (x, np.zeros(4, int))})


def test_training_on_your_own_arrays_equals_the_built_in_data(tmp_path):
    cfg = tiny(epochs=2)
    data = spikedelay.datasets.load(cfg)
    arrays = {k: data[k] for k in ("train", "valid", "test")}
    arrays["classes"] = data["classes"]
    ours = spikedelay.train(cfg, data=arrays)
    built_in = spikedelay.train(cfg)
    for d in (ours, built_in):
        d.pop("wall_seconds")
    assert ours == built_in


def test_interrupts_stop_after_the_batch_with_the_checkpoint_intact(tmp_path):
    def stop_at_second(m):
        if m["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        spikedelay.train(tiny(epochs=5), out=tmp_path / "a", callback=stop_at_second)
    assert spikedelay.load(tmp_path / "a" / "last.safetensors").epochs == 2

    # A real Ctrl-C (SIGINT) while Rust trains, sent once the second epoch has finished (an
    # event, not a moment: the machine's load cannot move it); the callback waits until the
    # main thread has taken the signal.
    seen = threading.Event()

    def on_sigint(signum, frame):
        seen.set()
        raise KeyboardInterrupt

    def ctrl_c_after_second(m):
        if m["epoch"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
            assert seen.wait(60), "the main thread never took the SIGINT"

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with pytest.raises(KeyboardInterrupt):
            spikedelay.train(tiny(epochs=400), out=tmp_path / "b", callback=ctrl_c_after_second)
    finally:
        signal.signal(signal.SIGINT, previous)
    done = spikedelay.load(tmp_path / "b" / "last.safetensors").epochs
    assert 2 <= done < 400
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == done


def test_torch_tensors_go_in():
    torch = pytest.importorskip("torch")
    data = spikedelay.datasets.load(tiny())
    x = data["test"][0][:4]
    assert torch.from_numpy(x).shape == x.shape


def test_export_from_python(tmp_path):
    spikedelay.train(tiny(epochs=1), out=tmp_path / "run")
    model = spikedelay.load(tmp_path / "run" / "best.safetensors")
    model.export("netx", tmp_path / "net.net")
    model.export("nir", tmp_path / "net.nir")
    assert (tmp_path / "net.net").stat().st_size > 1000
    with pytest.raises(ValueError, match="choose nir, netx or synapses"):
        model.export("onnx", tmp_path / "x")


def test_seeds_and_resume_as_the_cli(tmp_path):
    cfg = tiny(epochs=3)
    (tmp_path / "c.toml").write_text(cfg.to_toml())
    subprocess.run([cli(), "train", "--config", str(tmp_path / "c.toml"), "--seeds", "0,1",
                    "--out", str(tmp_path / "cli")], check=True, capture_output=True)
    out = spikedelay.train(cfg, out=tmp_path / "py", seeds=[0, 1])
    assert [s["seed"] for s in out["summaries"]] == [0, 1]
    theirs = json.loads((tmp_path / "cli" / "aggregate.json").read_text())
    ours = json.loads((tmp_path / "py" / "aggregate.json").read_text())
    assert out["aggregate"] == ours
    for d in (theirs, ours):
        d.pop("wall_seconds")
    assert ours == theirs
    # A rerun skips the finished seeds.
    again = spikedelay.train(cfg, out=tmp_path / "py", seeds=[0, 1])
    assert [s["test_accuracy"] for s in again["summaries"]] == [s["test_accuracy"] for s in out["summaries"]]

    # Resume: stopped after the second of three epochs, continued to the uninterrupted run.
    def stop_after_second(m):
        if m["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        spikedelay.train(cfg, out=tmp_path / "r", callback=stop_after_second)
    resumed = spikedelay.train(cfg, out=tmp_path / "r", resume=True)
    straight = json.loads((tmp_path / "py" / "seed0" / "summary.json").read_text())
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    assert resumed["best_epoch"] == straight["best_epoch"]
    with pytest.raises(ValueError, match="out"):
        spikedelay.train(cfg, resume=True)
    with pytest.raises(Exception, match="nothing to resume"):
        spikedelay.train(cfg, out=tmp_path / "none", resume=True)


def test_sweep_as_the_cli(tmp_path):
    cfg = tiny(epochs=2)
    (tmp_path / "c.toml").write_text(cfg.to_toml())
    subprocess.run([cli(), "sweep", "--config", str(tmp_path / "c.toml"), "--grid",
                    "model.delays=learned,none", "--seeds", "0,1", "--threads", "1",
                    "--out", str(tmp_path / "cli")], check=True, capture_output=True)
    rows = spikedelay.sweep(cfg, tmp_path / "py", grid={"model.delays": ["learned", "none"]},
                            seeds=[0, 1], threads=1)
    assert [r["point"] for r in rows] == [["learned"], ["none"]]
    assert all(r["n"] == 2 for r in rows)
    theirs = json.loads(subprocess.run([cli(), "report", str(tmp_path / "cli"), "--format", "json"],
                                       check=True, capture_output=True, text=True).stdout)
    for a, b in zip(rows, theirs):
        for key in ("test_accuracy", "last_epoch_test_accuracy", "valid_accuracy"):
            assert a[key] == b[key], key
    assert spikedelay.report(tmp_path / "py") == rows
    # Each run is `train` of its configuration.
    one = spikedelay.train(cfg.replace({"model": {"delays": "none"}, "train": {"seed": 1}}))
    mine = json.loads((tmp_path / "py" / "model.delays=none" / "seed1" / "summary.json").read_text())
    assert one["test_accuracy"] == mine["test_accuracy"]
    with pytest.raises(ValueError, match="train.epochs"):
        spikedelay.sweep(cfg, tmp_path / "bad", grid={"train.epochs": ["two"]})
    script = tmp_path / "s"
    spikedelay.sweep(cfg, script, grid={"model.delays": ["fixed"]}, slurm=True,
                     slurm_options=["--partition=debug"], executable=cli())
    assert "#SBATCH --partition=debug" in (script / "sweep.sbatch").read_text()


def test_stream_decides_as_evaluate_and_the_cli(tmp_path):
    cfg = tiny()
    spikedelay.train(cfg, out=tmp_path / "run")
    model = spikedelay.load(tmp_path / "run")  # a run folder stands for its best checkpoint
    x, y, lengths = spikedelay.datasets.load(cfg)["test"]
    decisions = model.evaluate("test", batch_size=7)["decisions"]
    assert decisions == model.evaluate("test", batch_size=1000)["decisions"]
    assert list(model.predict(x, lengths)) == decisions
    stream = model.stream()
    streamed = []
    for sample, n in zip(x, lengths):
        for frame in sample[:n]:
            stream.step([c for c, k in enumerate(frame) for _ in range(int(k))])
        streamed.append(stream.end())
    assert streamed == decisions
    # Raw events, binned as the run's data: the CLI's stream decides alike.
    events = [(0.001, 1), (0.003, 2), (0.020, 5), (0.2, 3)]
    for t, c in events:
        stream.push(t, c)
    ours = stream.end()
    csv = "".join(f"{t},{c}\n" for t, c in events)
    text = subprocess.run([cli(), "stream", "--checkpoint", str(tmp_path / "run" / "best.safetensors")],
                          input=csv, check=True, capture_output=True, text=True).stdout
    assert f"sample 0: class {ours} after" in text
    with pytest.raises(ValueError, match="channel 99"):
        stream.step([99])


def test_cochlea_turns_a_waveform_into_spikes():
    rate = 16000
    t = np.arange(int(0.08 * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * (400 + 3000 * t) * t)          # a chirp, 80 ms
    times, units = spikedelay.cochlea(wave, rate, channels=64, seed=3, sampler="exact")
    assert len(times) == len(units) > 50
    assert np.all(np.diff(times) >= 0) and units.max() < 64
    assert times.max() < t[-1]
    again = spikedelay.cochlea(wave, rate, channels=64, seed=3, sampler="exact")
    assert np.array_equal(times, again[0]) and np.array_equal(units, again[1])
    fast = spikedelay.cochlea(wave, rate, channels=64, seed=3)
    assert 0.7 < len(fast[0]) / len(times) < 1.3
    with pytest.raises(ValueError, match="rate"):
        spikedelay.cochlea(wave, 2000)
    with pytest.raises(ValueError, match="silent"):
        spikedelay.cochlea(np.zeros(100), rate)
