from os import PathLike
from typing import Any, Callable, Optional, Sequence

import numpy as np
import numpy.typing as npt

from . import datasets as datasets
from ._spikedelay import Model as Model
from ._spikedelay import RunConfig as RunConfig
from ._spikedelay import Stream as Stream
from ._spikedelay import __version__ as __version__

ArrayLike = npt.ArrayLike

class _Model:
    def forward(
        self, x: ArrayLike, lengths: Optional[ArrayLike] = None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], list[npt.NDArray[np.float32]]]: ...
    def predict(self, x: ArrayLike, lengths: Optional[ArrayLike] = None) -> npt.NDArray[np.int64]: ...
    def delays(self) -> list[npt.NDArray[np.int64]]: ...
    def weights(self) -> list[npt.NDArray[np.float32]]: ...
    def evaluate(
        self, split: str = "test", batch_size: Optional[int] = None, eval_steps: Optional[str] = None
    ) -> dict[str, Any]: ...
    def stream(self) -> Stream: ...
    def export(self, format: str, path: str | PathLike[str], clip_delays: bool = False, nir_dt: Optional[float] = None) -> None: ...
    @property
    def config(self) -> RunConfig: ...
    @property
    def epochs(self) -> int: ...

def train(
    config: RunConfig,
    out: Optional[str | PathLike[str]] = None,
    callback: Optional[Callable[[dict[str, Any]], None]] = None,
    data: Optional[dict[str, Any]] = None,
    overwrite: bool = False,
    seeds: Optional[list[int]] = None,
    resume: bool = False,
    device: str = "auto",
) -> dict[str, Any]: ...
def sweep(
    config: RunConfig,
    out: str | PathLike[str],
    grid: Optional[dict[str, list[Any]]] = None,
    seeds: Sequence[int] = (0,),
    jobs: int = 1,
    threads: Optional[int] = None,
    slurm: bool = False,
    slurm_options: Sequence[str] = (),
    submit: bool = False,
    executable: Optional[str | PathLike[str]] = None,
) -> list[dict[str, Any]]: ...
def report(out: str | PathLike[str]) -> list[dict[str, Any]]: ...
def load(path: str | PathLike[str], device: str = "cpu") -> _Model: ...
def cochlea(
    wave: Any, rate: int, channels: int = 700, seed: int = 0, sampler: str = "fast"
) -> tuple[Any, Any]: ...
