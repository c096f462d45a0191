//! `plot` and `train --plot` end to end: every figure is a PNG that decodes, has the size its
//! layout gives and is not blank; several seeds plot as one figure set; bad runs are named.

use std::path::Path;

mod common;
use common::{spikedelay, stderr_of, stdout_of};

const TINY: &str = r#"
[data]
classes = 4
channels = 8
motif_channels = 4
steps = 32
train_samples = 64
valid_samples = 32
test_samples = 32

[model]
hidden = [12, 10]

[train]
epochs = 3
batch_size = 32
"#;

/// Decodes `path` and returns (width, height, standard deviation of the grey levels).
fn png_stats(path: &Path) -> (u32, u32, f64) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    let grey: Vec<f64> = buf[..info.buffer_size()]
        .chunks(3)
        .map(|p| p.iter().map(|&c| f64::from(c)).sum::<f64>() / 3.0)
        .collect();
    let mean = grey.iter().sum::<f64>() / grey.len() as f64;
    let var = grey.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / grey.len() as f64;
    (info.width, info.height, var.sqrt())
}

#[test]
fn train_plot_writes_four_figures_that_decode_and_are_not_blank() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("t.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let out = dir.path().join("run");
    let text = stdout_of(spikedelay().args([
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--plot",
    ]));
    // Sizes: 2 × 2 curves; one panel per delay layer (2 hidden + output) at least 360 px each;
    // the sample figure one 260 px panel per input, hidden layer and readout plus its title.
    let expected = [
        ("curves.png", 1280, 860),
        ("delays.png", 1280, 460),
        ("weight-delay.png", 1280, 460),
        ("sample.png", 1100, 60 + 260 * 4),
    ];
    for (name, w, h) in expected {
        let path = out.join("plots").join(name);
        assert!(
            text.contains(&format!("wrote {}", path.display())),
            "{text}"
        );
        let (width, height, spread) = png_stats(&path);
        assert_eq!((width, height), (w, h), "{name}");
        assert!(
            spread > 10.0,
            "{name} looks blank: grey-level std {spread:.2}"
        );
    }
    // `plot` redraws into another folder and picks another test sample; out-of-range is named.
    let again = dir.path().join("again");
    spikedelay()
        .args([
            "plot",
            out.to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ])
        .args(["--sample", "31"])
        .assert()
        .success();
    assert_eq!(png_stats(&again.join("sample.png")).0, 1100);
    let err = stderr_of(spikedelay().args(["plot", out.to_str().unwrap(), "--sample", "32"]));
    assert!(
        err.contains("--sample 32") && err.contains("32 samples"),
        "{err}"
    );
    // A folder that is not a run.
    let err = stderr_of(spikedelay().args(["plot", dir.path().to_str().unwrap()]));
    assert!(err.contains("is not a run"), "{err}");
}

#[test]
fn seeds_plot_as_one_figure_set_and_a_network_without_delays_skips_delay_figures() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("t.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let out = dir.path().join("multi");
    let run = |extra: &[&str], out: &Path| {
        let mut cmd = spikedelay();
        cmd.args(["train", "--config", cfg.to_str().unwrap()])
            .args(["--out", out.to_str().unwrap()])
            .args(extra);
        stdout_of(&mut cmd)
    };
    run(&["--seeds", "0,1", "--epochs", "2", "--plot"], &out);
    let (w, h, spread) = png_stats(&out.join("plots/curves.png"));
    assert_eq!((w, h), (1280, 860));
    assert!(spread > 10.0);
    assert!(out.join("plots/delays.png").is_file());
    assert!(
        !out.join("seed0/plots").exists(),
        "seeds are plotted together"
    );
    // The report links the figures of runs that have them.
    let table = stdout_of(spikedelay().args(["report", out.to_str().unwrap()]));
    let link = format!("[curves]({})", out.join("plots/curves.png").display());
    assert!(
        table.contains(" plots |") && table.contains(&link),
        "{table}"
    );

    let none = dir.path().join("none");
    let mut cmd = spikedelay();
    cmd.args([
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--delays",
        "none",
    ])
    .args(["--out", none.to_str().unwrap(), "--epochs", "1", "--plot"]);
    let output = cmd.assert().success().get_output().clone();
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(err.contains("delay figures skipped"), "{err}");
    assert!(none.join("plots/curves.png").is_file());
    assert!(none.join("plots/sample.png").is_file());
    assert!(!none.join("plots/delays.png").exists());
}
