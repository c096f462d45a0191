//! The device path against the CPU path (docs/design.md §9): one training step — loss,
//! predictions, every gradient, BatchNorm's running statistics, then both Adam groups and the
//! clamp — on the parity fixtures (learned, learned with SHD's settings, fixed, none) and on
//! synthetic constant-σ, σ early/mid/late, SHD-shaped and GSC-shaped cases, within 1e-4 of each
//! tensor's norm. Every case runs on the software device (the GPU's kernels built by the host C
//! compiler) everywhere, and on CUDA device 0 where there is one; without one the CUDA half says
//! so and passes.

use spikedelay::Seq;
use spikedelay::device::{Accelerator, Device};
use spikedelay::model::{DelayMode, Network, NetworkConfig, Sig, sum_softmax_cross_entropy};
use spikedelay::train::NetworkOptimizer;

use crate::common::{rng, spikes, uniform};
use crate::parity::load_case;

const TOL: f64 = 1e-4;

/// `‖a − b‖ / ‖b‖` (`‖a − b‖` where `b` is zero).
fn rel(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let d: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let n: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    if n == 0.0 { d.sqrt() } else { (d / n).sqrt() }
}

/// Asserts `device` is within [`TOL`] of `cpu`; returns the relative difference.
fn close(what: &str, device: &[f32], cpu: &[f32]) -> f64 {
    let e = rel(device, cpu);
    assert!(
        e <= TOL,
        "{what}: device differs from CPU by {e:.2e} (> {TOL:.0e})"
    );
    e
}

struct Step<'a> {
    name: &'a str,
    net: Network,
    x: Seq,
    labels: Vec<usize>,
    masks: Vec<Vec<f32>>,
}

/// One step of `case` on `acc` and on the CPU, compared.
fn check_step(acc: &Accelerator, case: &Step) {
    let name = case.name;
    let mut worst = 0.0f64;
    // CPU: forward with the given masks, loss, backward, Adam, clamp.
    let mut cpu = case.net.clone();
    let (v, cache) = cpu.forward_train_masked(&case.x, &case.masks).unwrap();
    let out = sum_softmax_cross_entropy(&v, &case.labels, true).unwrap();
    let (grads, _) = cpu.backward(&cache, out.grad.as_ref().unwrap(), false);

    let mut dev = acc.network(&case.net, &[]).unwrap();
    let report = dev
        .forward_backward(&case.x, &case.labels, &case.masks)
        .unwrap();
    let sample_losses = |l: &[f64]| l.iter().map(|&v| v as f32).collect::<Vec<_>>();
    worst = worst.max(close(
        &format!("{name} sample losses"),
        &sample_losses(&report.loss.sample_losses),
        &sample_losses(&out.sample_losses),
    ));
    assert_eq!(
        report.loss.predictions, out.predictions,
        "{name} predictions"
    );
    let dg = dev.read_grads().unwrap();
    for (l, (d, c)) in dg.layers.iter().zip(&grads.layers).enumerate() {
        worst = worst.max(close(
            &format!("{name} ∂L/∂W layer {l}"),
            &d.weight,
            &c.weight,
        ));
        worst = worst.max(close(
            &format!("{name} ∂L/∂P layer {l}"),
            &d.position,
            &c.position,
        ));
    }
    for (l, (d, c)) in dg.norms.iter().zip(&grads.norms).enumerate() {
        worst = worst.max(close(
            &format!("{name} ∂L/∂γ block {l}"),
            &d.gamma,
            &c.gamma,
        ));
        worst = worst.max(close(&format!("{name} ∂L/∂β block {l}"), &d.beta, &c.beta));
    }
    let rates: Vec<f64> = cache.spike_rates().iter().map(|r| r.0).collect();
    let dev_rates: Vec<f64> = report.spike_rates.iter().map(|r| r.0).collect();
    assert_eq!(dev_rates, rates, "{name} spike rates");

    // Both Adam groups (lr as the schedules set them on a first epoch) and the clamp.
    let mut opt = NetworkOptimizer::new(&cpu);
    opt.weights.lr = 3e-3;
    opt.positions.lr = 0.1;
    opt.step(&mut cpu, &grads, 1e-5);
    let weights = opt.weights.constants();
    let positions = case
        .net
        .config
        .delays
        .learns_positions()
        .then(|| opt.positions.constants());
    let mut dev = acc.network(&case.net, &[]).unwrap();
    dev.train_step(&case.x, &case.labels, &case.masks, weights, positions, 1e-5)
        .unwrap();
    let mut stepped = case.net.clone();
    dev.read_params(&mut stepped).unwrap();
    for ((id, d), (_, c)) in stepped.params().into_iter().zip(cpu.params()) {
        worst = worst.max(close(&format!("{name} {} after the step", id.name()), d, c));
    }
    let moments = dev.read_moments().unwrap();
    for ((m, v), (id, state)) in moments.iter().zip(&opt.states) {
        worst = worst.max(close(
            &format!("{name} Adam m of {}", id.name()),
            m,
            &state.m,
        ));
        worst = worst.max(close(
            &format!("{name} Adam v of {}", id.name()),
            v,
            &state.v,
        ));
    }
    // The rounded model's evaluation forward pass (method §15) on the stepped parameters.
    let dev = acc.network(&cpu, &[]).unwrap();
    let (v_dev, s_dev) = dev.forward_eval(&case.x).unwrap();
    let (v_cpu, s_cpu) = cpu.rounded().forward_eval(&case.x).unwrap();
    worst = worst.max(close(
        &format!("{name} evaluation readout"),
        &v_dev.data,
        &v_cpu.data,
    ));
    for (l, (d, c)) in s_dev.iter().zip(&s_cpu).enumerate() {
        assert_eq!(d, c, "{name} evaluation spikes of layer {l}");
    }
    // One line per case for tools/gpu/check.sh's table.
    eprintln!("PARITY {} | {name} | {worst:.2e}", acc.device);
}

fn config(inputs: usize, hidden: Vec<usize>, outputs: usize, delays: DelayMode) -> NetworkConfig {
    NetworkConfig {
        inputs,
        hidden,
        outputs,
        taps: 9,
        kernel_count: 1,
        tau: 2.0,
        v_threshold: 1.0,
        dropout: 0.3,
        delays,
        sig_init: 4.0,
    }
}

/// A synthetic step: random parameters, input `x`, labels and masks from `seed`.
fn synthetic(name: &str, config: NetworkConfig, x: Seq, sig: Option<Sig>, seed: u64) -> Step<'_> {
    let mut r = rng(seed);
    let mut net = Network::new(&config, &mut r).unwrap();
    if let Some(s) = sig {
        net.set_sig(s);
    }
    let labels = (0..x.batch).map(|b| (b * 7 + 3) % config.outputs).collect();
    let dropout = spikedelay::model::SeqDropout { p: config.dropout };
    let masks = config
        .hidden
        .iter()
        .map(|&h| dropout.mask(x.batch, h, &mut r))
        .collect();
    Step {
        name,
        net,
        x,
        labels,
        masks,
    }
}

fn synthetic_cases() -> Vec<Step<'static>> {
    let mut r = rng(11);
    let shd_like = |r: &mut _| spikes(6, 24, 40, 0.08, r);
    let mut cases = Vec::new();
    for (name, sig) in [
        ("learned, σ early", 4.0f32),
        ("learned, σ mid", 1.5),
        ("learned, σ late", 0.23),
    ] {
        let cfg = config(40, vec![24, 16], 5, DelayMode::Learned);
        cases.push(synthetic(
            name,
            cfg,
            shd_like(&mut r),
            Some(Sig::raw(sig)),
            1,
        ));
    }
    cases.push(synthetic(
        "constant-sigma",
        config(40, vec![24, 16], 5, DelayMode::ConstantSigma),
        shd_like(&mut r),
        None,
        2,
    ));
    cases.push(synthetic(
        "fixed, one hidden layer",
        config(40, vec![24], 5, DelayMode::Fixed),
        shd_like(&mut r),
        None,
        3,
    ));
    cases.push(synthetic(
        "none, synthetic",
        config(40, vec![24, 16], 5, DelayMode::None),
        shd_like(&mut r),
        None,
        4,
    ));
    // SHD-shaped: 700 sparse spiking channels, 20 classes, two hidden layers, D = 25.
    let mut shd = config(700, vec![32, 32], 20, DelayMode::Learned);
    shd.taps = 25;
    shd.sig_init = 12.0;
    let x = spikes(4, 30, 700, 0.03, &mut r);
    cases.push(synthetic("SHD-shaped", shd, x, None, 5));
    // GSC-shaped: 40 dense log-mel channels (real values), 35 classes.
    let mut gsc = config(40, vec![32, 32], 35, DelayMode::Learned);
    gsc.taps = 25;
    gsc.sig_init = 12.0;
    let x = Seq::from_vec(4, 26, 40, uniform(4 * 26 * 40, -2.0, 3.0, &mut r)).unwrap();
    cases.push(synthetic("GSC-shaped", gsc, x, Some(Sig::raw(5.0)), 6));
    cases
}

fn fixture_cases() -> Vec<Step<'static>> {
    ["learned", "learned_shd", "fixed", "none"]
        .into_iter()
        .map(|name| {
            let c = load_case(name);
            Step {
                name,
                net: c.net,
                x: c.x,
                labels: c.labels,
                masks: c.masks,
            }
        })
        .collect()
}

fn check_all(acc: &Accelerator) {
    for case in fixture_cases().iter().chain(&synthetic_cases()) {
        check_step(acc, case);
    }
}

#[test]
fn software_device_step_equals_the_cpu_step() {
    let acc = Device::Software
        .open()
        .expect("the software device builds kernels.cu with the C compiler")
        .expect("an accelerator");
    check_all(&acc);
}

#[test]
fn cuda_step_equals_the_cpu_step_where_there_is_a_gpu() {
    match Device::Cuda(0).open() {
        Ok(Some(acc)) => check_all(&acc),
        Ok(None) => unreachable!("cuda:0 opens a device or fails"),
        Err(e) => {
            // Without one, the error names what was not found.
            let msg = e.to_string();
            assert!(
                ["libcuda.so", "libcublas.so", "libnvrtc.so", "device(s)"]
                    .iter()
                    .any(|lib| msg.contains(lib))
                    && msg.contains("cuda:0"),
                "{msg}"
            );
            eprintln!("skipped: no CUDA device here ({e})");
        }
    }
}

#[test]
fn device_names_parse_and_print() {
    for (s, d) in [
        ("auto", Device::Auto),
        ("cpu", Device::Cpu),
        ("cuda", Device::Cuda(0)),
        ("cuda:3", Device::Cuda(3)),
        ("software", Device::Software),
    ] {
        assert_eq!(s.parse::<Device>().unwrap(), d);
    }
    assert_eq!(Device::Cuda(3).to_string(), "cuda:3");
    let err = "gpu".parse::<Device>().unwrap_err().to_string();
    assert!(err.contains("`device`") && err.contains("`gpu`"), "{err}");
}

/// A short run of seed `seed` with the training batches on `device`: records and summary.
fn short_run(
    device: Device,
    seed: u64,
) -> (
    Vec<spikedelay::train::EpochMetrics>,
    spikedelay::train::Summary,
) {
    let mut config = crate::training::small_config(DelayMode::Learned, 6);
    config.train.seed = seed;
    let splits = crate::training::splits_of(&config);
    let mut t =
        spikedelay::train::Trainer::new(config, splits.train.channels(), splits.train.classes())
            .unwrap()
            .with_device(device)
            .unwrap();
    let s = t.run(&splits, &mut ()).unwrap();
    (t.history().to_vec(), s)
}

/// Five seeds of a six-epoch run on each side. Seed to seed, this task's test accuracy moves
/// by a standard deviation of about 0.065 (0.45–0.72 measured on both sides), so the mean of
/// five by about 0.03: the means must agree within 0.08.
#[test]
fn short_runs_on_the_device_learn_as_on_the_cpu() {
    let (mut cpu_mean, mut dev_mean) = (0.0, 0.0);
    for seed in 0..5 {
        let (cpu, cpu_summary) = short_run(Device::Cpu, seed);
        let (dev, dev_summary) = short_run(Device::Software, seed);
        // The first epoch's batches see the same data, masks and initial parameters: only
        // float rounding separates the two until a spike flips.
        let (a, b) = (dev[0].train_loss, cpu[0].train_loss);
        assert!(
            (a - b).abs() <= 1e-3 * b.abs(),
            "seed {seed}: first-epoch loss {a} vs {b}"
        );
        let p = dev_summary.provenance.unwrap();
        assert_eq!(p.device, "software");
        assert!(
            dev.iter()
                .all(|m| m.conv_paths.iter().all(|c| c.contains_key("device")))
        );
        cpu_mean += cpu_summary.test_accuracy / 5.0;
        dev_mean += dev_summary.test_accuracy / 5.0;
    }
    let chance = 1.0 / 6.0;
    assert!(
        cpu_mean > chance + 0.25 && dev_mean > chance + 0.25,
        "{dev_mean} {cpu_mean}"
    );
    assert!(
        (dev_mean - cpu_mean).abs() <= 0.08,
        "mean test accuracy over five seeds: device {dev_mean:.3}, cpu {cpu_mean:.3}"
    );
}

/// Checkpoints do not depend on the device: two epochs on the device, then the run resumed on
/// the CPU from the device's parameters and Adam moments.
#[test]
fn a_run_trained_on_the_device_resumes_on_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::training::small_config(DelayMode::Learned, 3);
    let splits = crate::training::splits_of(&config);
    let mut t =
        spikedelay::train::Trainer::new(config, splits.train.channels(), splits.train.classes())
            .unwrap()
            .with_device(Device::Software)
            .unwrap()
            .with_output(dir.path(), spikedelay::train::Existing::Refuse)
            .unwrap();
    for epoch in 0..2 {
        t.train_epoch(epoch, &splits, &mut ()).unwrap();
    }
    let saved = t.checkpoint(true);
    drop(t);
    let mut resumed = spikedelay::train::Trainer::resume(dir.path())
        .unwrap()
        .with_device(Device::Cpu)
        .unwrap();
    assert_eq!(resumed.network(), &saved.network);
    let opt = saved.optimizer.as_ref().unwrap();
    assert!(opt.weights.step > 0 && opt.states.iter().all(|(_, s)| s.v.iter().any(|&v| v > 0.0)));
    let summary = resumed.run(&splits, &mut ()).unwrap();
    assert_eq!(resumed.history().len(), 3);
    assert_eq!(summary.provenance.unwrap().device, "cpu");
    assert!(
        summary.test_accuracy > 1.0 / 6.0 + 0.1,
        "{}",
        summary.test_accuracy
    );
}
