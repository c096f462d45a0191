"""spikedelay: spiking neural networks whose synaptic delays are learned (DCLS-Delays), with a Rust core.

    import spikedelay
    config = spikedelay.RunConfig.preset("delay-patterns")
    summary = spikedelay.train(config, out="runs/main", callback=print)
    model = spikedelay.load("runs/main/best.safetensors")
    readout, decisions, spikes = model.forward(x)      # x: (batch, time, channels)

Training and inference run in Rust with the interpreter released; errors carry the library's
messages (ValueError naming the key for a bad configuration, FileNotFoundError for a missing file).
"""
from __future__ import annotations

import numpy as _np

from . import datasets
from ._spikedelay import Model, RunConfig, Stream, __version__
from ._spikedelay import load as _load
from ._spikedelay import train as _train
from ._spikedelay import sweep as _sweep
from ._spikedelay import report as _report
from ._spikedelay import cochlea as _cochlea

__all__ = ["Model", "RunConfig", "Stream", "datasets", "load", "report", "sweep", "train", "__version__"]

_ALLOWED = ("f", "i", "u", "b")


def _frames(x, what: str = "x") -> _np.ndarray:
    """`x` as a C-contiguous float32 (batch, time, channels) array (from any numeric array or
    tensor: float, integer spike counts, bool)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu().numpy()
    a = _np.asarray(x)
    if a.dtype.kind not in _ALLOWED:
        raise TypeError(f"{what} must hold numbers (float or integer spike counts), got dtype {a.dtype}")
    if a.ndim != 3:
        raise ValueError(f"{what} must be (batch, time, channels), got shape {a.shape}")
    return _np.ascontiguousarray(a, dtype=_np.float32)


def _labels(y, n: int, what: str) -> _np.ndarray:
    a = _np.asarray(y)
    if a.dtype.kind not in ("i", "u"):
        raise TypeError(f"{what} must hold integer class ids, got dtype {a.dtype}")
    if a.shape != (n,):
        raise ValueError(f"{what} must have shape ({n},), got {a.shape}")
    return _np.ascontiguousarray(a, dtype=_np.int64)


def _lengths(lengths, x: _np.ndarray):
    if lengths is None:
        return None
    a = _labels(lengths, x.shape[0], "lengths")
    if a.size and (a.min() < 0 or a.max() > x.shape[1]):
        raise ValueError(f"lengths must lie in 0..={x.shape[1]} (the steps of x), got {a.min()}..{a.max()}")
    return a


def _split(name: str, item) -> tuple:
    if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
        raise TypeError(f"data[{name!r}] must be (x, y) or (x, y, lengths)")
    x = _frames(item[0], f"data[{name!r}] x")
    out = [x, _labels(item[1], x.shape[0], f"data[{name!r}] y")]
    if len(item) == 3:
        out.append(_labels(item[2], x.shape[0], f"data[{name!r}] lengths"))
    return tuple(out)


def train(config: RunConfig, out=None, callback=None, data=None, overwrite: bool = False,
          seeds=None, resume: bool = False, device: str = "auto") -> dict:
    """Trains `config` as `spikedelay train` does (the same run manager) and returns the run's
    summary (the dict of `summary.json`); with `seeds`, `{"summaries": [...], "aggregate": {...}}`
    (the dicts of each `seed<k>/summary.json` and of `aggregate.json`).

    out: folder for checkpoints, metrics and summary (refused if it holds a run, unless
    `overwrite`; continued from its last finished epoch with `resume`, which with `seeds`
    continues the unfinished seed and skips finished ones). seeds: train once per seed into
    `out/seed<k>/`. callback: called with each epoch's metrics dict. data: your own arrays,
    `{"train": (x, y[, lengths]), "valid": ..., "test": ...}` with x (N, T, C) and integer y,
    instead of the configuration's dataset. device: where the training batches run, `auto` (a
    CUDA GPU when there is one, else the CPU), `cpu`, `cuda` or `cuda:N`; checkpoints do not
    depend on it, so a run trained on a GPU resumes or evaluates on the CPU. Ctrl-C stops after the current batch
    (KeyboardInterrupt), leaving the last finished epoch's checkpoint intact.
    """
    if data is not None:
        data = {k: (_split(k, v) if k in ("train", "valid", "test") else v) for k, v in data.items()}
    if seeds is not None:
        seeds = [int(s) for s in seeds]
    return _train(config, None if out is None else str(out), callback, data, overwrite, seeds, resume,
                  str(device))


def sweep(config: RunConfig, out, grid=None, seeds=(0,), jobs: int = 1, threads=None,
          slurm: bool = False, slurm_options=(), submit: bool = False,
          executable=None) -> list:
    """Trains `config` × `grid` × `seeds` as `spikedelay sweep` does: one run folder per grid
    point and seed under `out` (`out/sweep.json` lists them), finished runs skipped and started
    ones resumed on a rerun. grid: `{"model.delays": ["learned", "fixed", "none"], ...}` (dotted
    config keys; the grid is the product of the axes). Runs `jobs` at a time here, or with
    `slurm=True` writes `out/sweep.sbatch` (a job array running `executable`, the spikedelay
    command; `slurm_options` such as `["--partition=gpu"]`) and submits it with `submit=True`.
    Returns the ablation table: one dict per grid point (see `report`).
    """
    axes = [(str(k), [str(v) for v in vs]) for k, vs in (grid or {}).items()]
    return _sweep(config, str(out), axes, [int(s) for s in seeds], jobs, threads, slurm,
                  [str(o) for o in slurm_options], submit,
                  None if executable is None else str(executable))


def report(out) -> list:
    """The ablation table of the sweep in `out`: one dict per grid point with `point` (its
    values), `n` finished of `seeds`, and `test_accuracy`, `last_epoch_test_accuracy`,
    `valid_accuracy`, `wall_seconds` as `{"mean", "std"}` (sample std) over the finished seeds."""
    return _report(str(out))


def load(path, device: str = "cpu") -> Model:
    """Loads a checkpoint written by training (`best.safetensors` or `last.safetensors`). device:
    where `forward`, `predict` and `evaluate` run the rounded model, `cpu` (the event-driven
    engine), `cuda`, `cuda:N` or `software`; the decisions are the same."""
    return _Model(_load(str(path), str(device)))


class _Model:
    """A trained network: `forward`, `predict`, `delays`, `weights`, `evaluate`, `stream`, `export`."""

    def __init__(self, inner: Model):
        self._inner = inner

    def forward(self, x, lengths=None):
        """(readout (B, T+(L+1)R, classes), decisions (B,), [spikes (B, T+(l+1)R, n) per hidden
        layer]). lengths (B,): each sample's own steps in a zero-padded x; sample b then runs and
        is decided over them only, as evaluation does (without: every sample runs all T steps)."""
        x = _frames(x)
        return self._inner.forward(x, _lengths(lengths, x))

    def predict(self, x, lengths=None):
        """The class decision per sample, (B,) int64 (over each sample's own `lengths` steps when
        given)."""
        x = _frames(x)
        return self._inner.predict(x, _lengths(lengths, x))

    def delays(self):
        return self._inner.delays()

    def weights(self):
        return self._inner.weights()

    def evaluate(self, split: str = "test", batch_size=None, eval_steps=None) -> dict:
        """correct/total, loss, spike rates, confusion and per-sample decisions on the
        checkpoint's own `split`, as `spikedelay eval` computes them (the same at any batch size;
        eval_steps="padded-batch" evaluates as the reference does)."""
        return self._inner.evaluate(split, batch_size, eval_steps)

    def stream(self) -> Stream:
        """A stream through the network, one sample at a time: `push(time_s, channel)` raw spikes
        (binned and pooled as the run's data) or `step(channels)` whole frames, then `end()` for the
        decision, which is the one `evaluate` and `spikedelay stream` make."""
        return self._inner.stream()

    def export(self, format: str, path, clip_delays: bool = False, nir_dt=None) -> None:
        self._inner.export(format, str(path), clip_delays, nir_dt)

    @property
    def config(self) -> RunConfig:
        return self._inner.config

    @property
    def epochs(self) -> int:
        return self._inner.epochs

    def __repr__(self) -> str:
        return repr(self._inner)


def cochlea(wave, rate: int, channels: int = 700, seed: int = 0, sampler: str = "fast"):
    """Spikes of a mono waveform through the Heidelberg ear model (the model behind SHD and SSC;
    docs/cochlea.md), as `spikedelay data cochlea` makes them: `(times, units)` numpy arrays,
    times in seconds, sorted by time then channel. `sampler="exact"` draws what lauscher draws
    after `np.random.seed(seed)` (spike for spike); `"fast"` draws the same process faster."""
    return _cochlea(_np.ascontiguousarray(wave, dtype=_np.float64), int(rate), int(channels),
                    int(seed), str(sampler))
