"""Datasets as numpy arrays: per split `(x (N, T, C) float32, y (N,) int64, lengths (N,) int64)`,
samples zero-padded to the split's longest, binned exactly as training bins them."""
from __future__ import annotations

from ._spikedelay import RunConfig
from ._spikedelay import load_splits as _load_splits

__all__ = ["load", "shd", "ssc", "gsc", "delay_patterns"]


def load(config: RunConfig) -> dict:
    """The data of `config`: {"train": (x, y, lengths), "valid": ..., "test": ..., "classes": K,
    "class_names": [...]}."""
    return _load_splits(config)


def _preset(name: str, directory) -> dict:
    config = RunConfig.preset(name)
    if directory is not None:
        config = config.replace({"data": {"dir": str(directory)}})
    return load(config)


def shd(directory) -> dict:
    """SHD from `directory` (shd_train.h5, shd_test.h5), 10 ms frames, 700 → 140 channels."""
    return _preset("shd", directory)


def ssc(directory) -> dict:
    """SSC from `directory` (ssc_{train,valid,test}.h5)."""
    return _preset("ssc", directory)


def gsc(directory) -> dict:
    """Google Speech Commands from `directory`, as log-mel frames."""
    return _preset("gsc", directory)


def delay_patterns() -> dict:
    """The built-in delay-patterns task (generated, no files)."""
    return load(RunConfig.preset("delay-patterns"))
