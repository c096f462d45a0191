//! A testing hook for crash safety: with `SPIKEDELAY_ABORT_AT=NAME#N` in the environment, the
//! process aborts (no destructors, no flushing, like `kill -9`) the N-th time it reaches the
//! named point. Points are `FILE:tmp` (a temporary file is on disk, not yet renamed),
//! `FILE:written` (renamed into place) for every atomically written file, and
//! `epoch-evaluated` (an epoch's training and evaluation are done, nothing written yet).
//!
//! The crash tests (`crates/spikedelay-cli/tests/crash_cli.rs`) use it to die between every pair
//! of file writes. Without the variable a point costs one load of an initialised `OnceLock`.
//!
//! `SPIKEDELAY_POISON_AT=N` makes the N-th training batch of the process end with a NaN in a
//! weight, to test the divergence guard on a run whose earlier epochs are saved.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The environment variable that arms the hook.
pub const ENV: &str = "SPIKEDELAY_ABORT_AT";

static TARGET: OnceLock<Option<(String, usize)>> = OnceLock::new();
static REACHED: AtomicUsize = AtomicUsize::new(0);

fn target() -> &'static Option<(String, usize)> {
    TARGET.get_or_init(|| {
        let v = std::env::var(ENV).ok()?;
        let (name, n) = v.rsplit_once('#').unwrap_or((v.as_str(), "1"));
        Some((name.to_string(), n.parse().ok()?))
    })
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

/// Marks the point `name`; aborts the process if the hook targets its current occurrence.
pub fn point(name: impl AsRef<str>) {
    if let Some((target, n)) = target()
        && target == name.as_ref()
        && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("{ENV}: aborting at {target}#{n}");
        std::process::abort();
    }
}
