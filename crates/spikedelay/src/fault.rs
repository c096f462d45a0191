//! A testing hook for crash safety: with `SPIKEDELAY_ABORT_AT=NAME#N` in the environment, the
//! process aborts (no destructors, no flushing, like `kill -9`) the N-th time it reaches the
//! named point. Points are `FILE:tmp` (a temporary file is on disk, not yet renamed),
//! `FILE:written` (renamed into place) for every atomically written file, and
//! `epoch-evaluated` (an epoch's training and evaluation are done, nothing written yet).
//!
//! With `SPIKEDELAY_HANG_AT=NAME#N` the process instead announces on standard error that it
//! waits there (`SPIKEDELAY_HANG_AT: waiting at NAME#N`) and sleeps until it is killed, so that a
//! test can deliver a real SIGKILL at a known moment, whatever the machine's load. Besides the file
//! points there are `batch` (after every training batch) and `evaluating` (an epoch's batches
//! are done, its evaluation begins).
//!
//! The crash tests (`crates/spikedelay-cli/tests/crash_cli.rs`) use them to die between every pair
//! of file writes and inside epochs. Without the variables a point costs two loads of initialised
//! `OnceLock`s.
//!
//! `SPIKEDELAY_POISON_AT=N` makes the N-th training batch of the process end with a NaN in a
//! weight, to test the divergence guard on a run whose earlier epochs are saved.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The environment variable that arms the abort hook.
pub const ENV: &str = "SPIKEDELAY_ABORT_AT";

/// The environment variable that arms the hang hook.
pub const HANG_ENV: &str = "SPIKEDELAY_HANG_AT";

static TARGET: OnceLock<Option<(String, usize)>> = OnceLock::new();
static REACHED: AtomicUsize = AtomicUsize::new(0);
static HANG: OnceLock<Option<(String, usize)>> = OnceLock::new();
static HANG_REACHED: AtomicUsize = AtomicUsize::new(0);

/// `NAME#N` from `var` (`N` = 1 when left out).
fn parse(var: &str) -> Option<(String, usize)> {
    let v = std::env::var(var).ok()?;
    let (name, n) = v.rsplit_once('#').unwrap_or((v.as_str(), "1"));
    Some((name.to_string(), n.parse().ok()?))
}

fn target() -> &'static Option<(String, usize)> {
    TARGET.get_or_init(|| parse(ENV))
}

/// The environment variable that poisons a batch.
pub const POISON_ENV: &str = "SPIKEDELAY_POISON_AT";

static POISON: OnceLock<Option<usize>> = OnceLock::new();
static BATCHES: AtomicUsize = AtomicUsize::new(0);

/// Counts a training batch; true when [`POISON_ENV`] targets this one.
pub fn poison_batch() -> bool {
    match POISON.get_or_init(|| std::env::var(POISON_ENV).ok()?.parse().ok()) {
        Some(n) => BATCHES.fetch_add(1, Ordering::SeqCst) + 1 == *n,
        None => false,
    }
}

/// Marks the point `name`; aborts the process, or hangs it until killed, if a hook targets its
/// current occurrence.
pub fn point(name: impl AsRef<str>) {
    let name = name.as_ref();
    if let Some((target, n)) = target()
        && target == name
        && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("{ENV}: aborting at {target}#{n}");
        std::process::abort();
    }
    if let Some((target, n)) = HANG.get_or_init(|| parse(HANG_ENV))
        && target == name
        && HANG_REACHED.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("{HANG_ENV}: waiting at {target}#{n}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
