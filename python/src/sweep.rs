//! `sweep(...)` and `report(...)`: the library's sweep (grid × seeds, one run folder each) run
//! here with the interpreter detached, or written (and submitted) as a Slurm job array; and its
//! ablation table as a list of dicts. Ctrl-C stops every run at its next batch, as in `train`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::prelude::*;
use spikedelay::train::sweep::local::{LocalOutcome, run_local};
use spikedelay::train::sweep::table::{TableFormat, render, rows};
use spikedelay::train::sweep::{GridAxis, Sweep, slurm};

use crate::config::RunConfig;
use crate::errors::to_py;

fn table(py: Python<'_>, sweep: &Sweep) -> PyResult<Py<PyAny>> {
    let keys: Vec<String> = sweep
        .manifest()
        .grid
        .iter()
        .map(|a| a.key.clone())
        .collect();
    let json = render(&keys, &rows(sweep).map_err(to_py)?, TableFormat::Json);
    Ok(py.import("json")?.call_method1("loads", (json,))?.unbind())
}

/// Expands `config` × `grid` (`[(key, [values as text])]`) × `seeds` into `out` and trains
/// every unfinished run here, `jobs` at a time (threads divided between them); or, with
/// `slurm`, writes `out/sweep.sbatch` (`slurm_options` as `#SBATCH` lines) and submits it when
/// `submit`. Returns the table's rows (finished runs only; see `report`).
#[pyfunction]
#[pyo3(signature = (config, out, grid, seeds, jobs=1, threads=None, slurm=false, slurm_options=Vec::new(), submit=false, executable=None))]
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    py: Python<'_>,
    config: &RunConfig,
    out: PathBuf,
    grid: Vec<(String, Vec<String>)>,
    seeds: Vec<u64>,
    jobs: usize,
    threads: Option<usize>,
    slurm: bool,
    slurm_options: Vec<String>,
    submit: bool,
    executable: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let grid = grid
        .into_iter()
        .map(|(key, values)| GridAxis { key, values })
        .collect();
    let sweep = Sweep::create(&out, &config.inner, grid, seeds).map_err(to_py)?;
    if slurm {
        let exe = executable.ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(
                "slurm=True needs executable= (the spikedelay command each array task runs)",
            )
        })?;
        let script = slurm::write_script(&sweep, &exe, &slurm_options).map_err(to_py)?;
        if submit {
            slurm::submit(&script).map_err(to_py)?;
        }
        return table(py, &sweep);
    }
    if jobs == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "jobs must be at least 1",
        ));
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let stop = AtomicBool::new(false);
    let mut signal: Option<PyErr> = None;
    let outcomes = py.detach(|| {
        std::thread::scope(|scope| {
            let run = scope.spawn(|| run_local(&sweep, jobs, threads, &stop, &mut ()));
            while !run.is_finished() {
                std::thread::sleep(Duration::from_millis(20));
                if signal.is_none()
                    && let Err(e) = Python::attach(|py| py.check_signals())
                {
                    signal = Some(e);
                    stop.store(true, Ordering::SeqCst);
                }
            }
            run.join().expect("the sweep thread does not panic")
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
    for o in outcomes.map_err(to_py)? {
        if let LocalOutcome::Failed(e) = o {
            return Err(to_py(e));
        }
    }
    table(py, &sweep)
}

/// The ablation table of the sweep in `out`: one dict per grid point (`point`, `n`, `seeds`,
/// `test_accuracy` / `last_epoch_test_accuracy` / `valid_accuracy` / `wall_seconds` as
/// `{"mean", "std"}` over the finished seeds, `dir`, `plots`).
#[pyfunction]
pub fn report(py: Python<'_>, out: PathBuf) -> PyResult<Py<PyAny>> {
    let sweep = Sweep::open(&out).map_err(to_py)?;
    table(py, &sweep)
}
