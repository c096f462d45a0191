//! `spikedelay report`.

use anyhow::{Result, bail};
use spikedelay::atomic_file::write_atomic;
use spikedelay::train::report::{RunRow, markdown};
use spikedelay::train::sweep::Sweep;
use spikedelay::train::sweep::table::{TableFormat, render, rows};

use crate::args::ReportArgs;

/// Prints (and with `--out` writes) the table of the given runs, or of one sweep.
pub fn run(args: &ReportArgs) -> Result<()> {
    let table = if let [dir] = args.runs.as_slice()
        && Sweep::is_sweep(dir)
    {
        let sweep = Sweep::open(dir)?;
        let keys: Vec<String> = sweep
            .manifest()
            .grid
            .iter()
            .map(|a| a.key.clone())
            .collect();
        render(&keys, &rows(&sweep)?, args.format)
    } else {
        if args.format != TableFormat::Md {
            bail!(
                "--format csv|json applies to a sweep folder (one with sweep.json); run folders are compared as Markdown"
            );
        }
        let rows = args
            .runs
            .iter()
            .map(|dir| RunRow::read(dir))
            .collect::<spikedelay::Result<Vec<_>>>()?;
        markdown(&rows)
    };
    print!("{table}");
    if let Some(path) = &args.out {
        write_atomic(path, table.as_bytes())?;
    }
    Ok(())
}
