//! `export`, `eval --model`, `eval --quantize loihi` and `stream` as a user runs them
//! (docs/deploy.md), and their errors.

mod common;

use std::path::Path;

use common::{spikedelay, stderr_of, stdout_of, tiny, write};

fn json(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    serde_json::from_str(&stdout_of(cmd)).unwrap()
}

fn trained(dir: &Path) -> std::path::PathBuf {
    let cfg = write(dir, "tiny.toml", &tiny(3));
    let out = dir.join("run");
    stdout_of(
        spikedelay()
            .args(["train", "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(&out),
    );
    out.join("best.safetensors")
}

#[test]
fn exported_files_evaluate_as_the_checkpoint_and_stream() {
    let dir = tempfile::tempdir().unwrap();
    let ck = trained(dir.path());
    let (nir, netx, syn) = (
        dir.path().join("net.nir"),
        dir.path().join("net.net"),
        dir.path().join("net.json"),
    );
    let text = stdout_of(
        spikedelay()
            .args(["export", "--format", "nir", "--checkpoint"])
            .arg(&ck)
            .arg("--out")
            .arg(&nir),
    );
    assert!(text.contains("changes: positions rounded"), "{text}");
    assert!(
        text.contains("test accuracy: float (integer delays)"),
        "{text}"
    );
    let text = stdout_of(
        spikedelay()
            .args(["export", "--format", "netx", "--checkpoint"])
            .arg(&ck)
            .arg("--out")
            .arg(&netx),
    );
    assert!(text.contains("Loihi 2 fixed point"), "{text}");
    stdout_of(
        spikedelay()
            .args([
                "export",
                "--format",
                "synapses",
                "--no-eval",
                "--checkpoint",
            ])
            .arg(&ck)
            .arg("--out")
            .arg(&syn),
    );
    assert!(syn.is_file());

    // The NIR file cut at the protocol's horizons is the checkpoint's evaluation.
    let checkpoint = json(
        spikedelay()
            .args(["eval", "--json", "--quantize", "loihi", "--checkpoint"])
            .arg(&ck),
    );
    let model = json(spikedelay().args(["eval", "--json", "--model"]).arg(&nir));
    assert_eq!(
        model["protocol"]["test"]["confusion"],
        checkpoint["test"]["confusion"]
    );
    assert!(model["lockstep"]["test"]["correct"].is_u64());
    // The netx file is the fixed-point evaluation.
    let fixed = json(spikedelay().args(["eval", "--json", "--model"]).arg(&netx));
    assert_eq!(fixed["lockstep"]["test"], checkpoint["loihi"]["test"]);

    // A trace names every spiking layer.
    let trace = dir.path().join("trace.h5");
    stdout_of(
        spikedelay()
            .args(["eval", "--trace-samples", "3", "--model"])
            .arg(&netx)
            .arg("--trace")
            .arg(&trace),
    );
    assert!(std::fs::metadata(&trace).unwrap().len() > 1000);

    // Streaming CSV events through the checkpoint and through the netx file.
    let csv = "time_s,channel\n0.001,1\n0.003,2\n0.020,5\n\n0.002,7\n0.011,0\n";
    for source in [["--checkpoint"], ["--model"]] {
        let file = if source[0] == "--checkpoint" {
            &ck
        } else {
            &netx
        };
        let out = stdout_of(
            spikedelay()
                .arg("stream")
                .args(source)
                .arg(file)
                .write_stdin(csv),
        );
        assert!(
            out.contains("sample 0: class") && out.contains("sample 1: class"),
            "{out}"
        );
        assert!(out.contains("streamed 2 samples, 5 input events"), "{out}");
    }
}

#[test]
fn deploy_errors_name_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let ck = trained(dir.path());
    let out = dir.path().join("x");
    let e = stderr_of(
        spikedelay()
            .args([
                "export",
                "--format",
                "netx",
                "--quantize",
                "none",
                "--checkpoint",
            ])
            .arg(&ck)
            .arg("--out")
            .arg(&out),
    );
    assert!(e.contains("--format netx is Loihi's fixed point"), "{e}");
    let e = stderr_of(
        spikedelay()
            .args([
                "export",
                "--format",
                "synapses",
                "--nir-dt",
                "1e-4",
                "--checkpoint",
            ])
            .arg(&ck)
            .arg("--out")
            .arg(&out),
    );
    assert!(e.contains("--nir-dt applies to --format nir"), "{e}");
    let e = stderr_of(
        spikedelay()
            .args(["export", "--format", "nir", "--checkpoint"])
            .arg(&ck)
            .arg("--out")
            .arg(dir.path().join("missing/dir/net.nir")),
    );
    assert!(e.contains("missing/dir"), "{e}");
    assert!(!out.exists(), "nothing written by refused exports");
    let junk = write(dir.path(), "junk.nir", "not hdf5");
    let e = stderr_of(spikedelay().args(["eval", "--model"]).arg(&junk));
    assert!(
        e.contains("junk.nir") && e.contains("NIR or a netx file"),
        "{e}"
    );
    let nir = dir.path().join("net.nir");
    stdout_of(
        spikedelay()
            .args(["export", "--format", "nir", "--no-eval", "--checkpoint"])
            .arg(&ck)
            .arg("--out")
            .arg(&nir),
    );
    let e = stderr_of(
        spikedelay()
            .args(["stream", "--model"])
            .arg(&nir)
            .write_stdin("0.1,1\n"),
    );
    assert!(e.contains("run NIR graphs with eval --model"), "{e}");
    let e = stderr_of(
        spikedelay()
            .args(["stream", "--checkpoint"])
            .arg(&ck)
            .write_stdin("0.001,1\n0.002,x\n"),
    );
    assert!(
        e.contains("line 2: `0.002,x` is not `time_s,channel`"),
        "{e}"
    );
    let e = stderr_of(
        spikedelay()
            .args(["stream", "--checkpoint"])
            .arg(&ck)
            .write_stdin("0.002,1\n0.001,1\n"),
    );
    assert!(e.contains("line 2") && e.contains("in time order"), "{e}");
}

/// On spike files whose samples differ in length, `eval` gives the same figures at any
/// `--batch-size`, and `stream` decides every sample as `eval` does (method §15).
#[test]
fn eval_does_not_move_with_the_batch_size_and_agrees_with_stream() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shd");
    common::make_shd(&data, 6);
    let cfg = write(
        dir.path(),
        "small.toml",
        "[model]\nhidden = [24, 24]\n\n[train]\nepochs = 3\nbatch_size = 16\n",
    );
    let out = dir.path().join("run");
    stdout_of(
        spikedelay()
            .args(["train", "--preset", "shd", "--config"])
            .arg(&cfg)
            .arg("--data-dir")
            .arg(&data)
            .arg("--out")
            .arg(&out),
    );
    let ck = out.join("best.safetensors");
    let eval = |batch: &str, steps: &str| {
        json(
            spikedelay()
                .args([
                    "eval",
                    "--json",
                    "--batch-size",
                    batch,
                    "--eval-steps",
                    steps,
                ])
                .arg("--checkpoint")
                .arg(&ck),
        )
    };
    let alone = eval("1", "own");
    assert_eq!(alone["eval_steps"], "own");
    for batch in ["7", "1000"] {
        let other = eval(batch, "own");
        for split in ["valid", "test"] {
            for key in ["correct", "samples", "confusion", "spike_rates"] {
                assert_eq!(
                    other[split][key], alone[split][key],
                    "{split} {key} at --batch-size {batch}"
                );
            }
        }
    }
    // The reference's padded batches are a batch of one sample at --batch-size 1.
    assert_eq!(
        eval("1", "padded-batch")["test"]["confusion"],
        alone["test"]["confusion"]
    );
    // Streaming the test file decides as eval.
    let streamed = stdout_of(
        spikedelay()
            .args(["stream", "--checkpoint"])
            .arg(&ck)
            .arg("--input")
            .arg(data.join("shd_test.h5")),
    );
    let (correct, samples) = (&alone["test"]["correct"], &alone["test"]["samples"]);
    assert!(
        streamed.contains(&format!("({correct}/{samples})")),
        "eval: {correct}/{samples}; stream: {streamed}"
    );
}
