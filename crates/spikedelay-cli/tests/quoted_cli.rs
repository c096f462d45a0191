//! The numbers README.md quotes are the numbers the code produces: the main job (`spikedelay
//! train`, the built-in task) is run as a user runs it and must give the accuracy README's
//! table quotes for it, sample for sample. `tools/docs/regenerate.py` rewrites the quotes from
//! the code; this test fails when they were not rewritten after a change that moved them.
//!
//! The figures are the same for any thread count, but the SIMD level changes float rounding
//! (docs/design.md §4): the run uses the level the figures were measured at
//! (`docs/numbers.json`), and is skipped, saying so, on a CPU without it.

mod common;

use std::path::{Path, PathBuf};

use common::{spikedelay, stdout_of, summary};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(correct, samples, last-epoch accuracy in %)` of the `learned` row of README's main-job
/// table.
fn quoted_learned_row() -> (u64, u64, f64) {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = readme
        .split("<!-- numbers:main-job -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /numbers:main-job -->").next())
        .expect("README.md has the main-job block");
    let row = block
        .lines()
        .find(|l| l.starts_with("| `learned`"))
        .expect("the block has the learned row");
    // | `learned` (the method) | **97.00 %** (970/1000) | 96.60 % | 21 s |
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let (_, counts) = cells[2].split_once('(').expect("(correct/total)");
    let (correct, total) = counts
        .trim_end_matches(')')
        .split_once('/')
        .expect("correct/total");
    let last: f64 = cells[3].trim_end_matches('%').trim().parse().unwrap();
    (correct.parse().unwrap(), total.parse().unwrap(), last)
}

fn simd_supported(level: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        let avx512 = avx2
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq");
        match level {
            "avx512" => avx512,
            "avx2" => avx2,
            _ => true,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        level == "portable"
    }
}

#[test]
fn the_main_jobs_quoted_accuracy_is_what_the_code_gives() {
    let (correct, total, last) = quoted_learned_row();
    let numbers: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("docs/numbers.json")).unwrap())
            .unwrap();
    let provenance = &numbers["main"]["provenance"];
    let level = provenance["simd"]
        .as_str()
        .expect("numbers.json names its SIMD level");
    if !simd_supported(level) {
        eprintln!(
            "skipped: README's figures were measured at SIMD level {level}, which this CPU lacks \
             (float rounding differs between levels)"
        );
        return;
    }
    let quoted = &numbers["main"]["runs"]["learned"];
    assert_eq!(
        (
            quoted["test_correct"].as_u64(),
            quoted["test_samples"].as_u64()
        ),
        (Some(correct), Some(total)),
        "README.md and docs/numbers.json disagree: run tools/docs/regenerate.py --render-only"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("main");
    stdout_of(
        spikedelay()
            .args(["train", "--out"])
            .arg(&out)
            .env("SPIKEDELAY_SIMD", level),
    );
    let s = summary(&out);
    let got = (
        s["test_correct"].as_u64().unwrap(),
        s["test_samples"].as_u64().unwrap(),
    );
    assert_eq!(
        got,
        (correct, total),
        "README.md quotes {correct}/{total} for the main job, the code gives {}/{}: rerun \
         tools/docs/regenerate.py",
        got.0,
        got.1
    );
    let got_last = 100.0 * s["last_epoch_test_accuracy"].as_f64().unwrap();
    assert!(
        (got_last - last).abs() < 0.005,
        "README.md quotes {last:.2} % at the last epoch, the code gives {got_last:.2} %"
    );
    assert_eq!(s["provenance"]["simd"], level);
}
