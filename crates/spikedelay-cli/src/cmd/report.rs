//! `spikedelay report`.

use anyhow::Result;
use spikedelay::atomic_file::write_atomic;
use spikedelay::train::report::{RunRow, markdown};

use crate::args::ReportArgs;

/// Prints (and with `--out` writes) the table of the given runs.
pub fn run(args: &ReportArgs) -> Result<()> {
    let rows = args
        .runs
        .iter()
        .map(|dir| RunRow::read(dir))
        .collect::<spikedelay::Result<Vec<_>>>()?;
    let table = markdown(&rows);
    print!("{table}");
    if let Some(path) = &args.out {
        write_atomic(path, table.as_bytes())?;
    }
    Ok(())
}
