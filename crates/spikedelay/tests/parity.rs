//! Parity with the reference stack (dcls 0.1.1 `Dcls1d`, spikingjelly 0.0.0.0.14 `LIFNode`,
//! `BatchNorm1d`, `Dropout`, torch `Adam`, `OneCycleLR`, `CosineAnnealingLR`), from fixtures that
//! `tools/reference/make_fixtures.py` wrote with those packages. Forward quantities must agree to a
//! relative error of 1e-4, gradients to 1e-3 (relative to the largest entry of each tensor).
//! Dropout uses the reference's masks, injected.

use std::collections::HashMap;
use std::path::PathBuf;

use safetensors::{Dtype, SafeTensors};
use spikedelay::Seq;
use spikedelay::model::Sig;
use spikedelay::model::norm::NormGrads;
use spikedelay::model::{
    Charge, DclsGrads, DclsLayer, DelayMode, KernelKind, Lif, Network, NetworkConfig, NetworkGrads,
    sum_softmax_cross_entropy,
};
use spikedelay::train::{CosineAnnealing, NetworkOptimizer, OneCycle, SigmaSchedule};

const FORWARD_TOL: f64 = 1e-4;
const GRAD_TOL: f64 = 1e-3;

/// One fixture file: tensors as (shape, values in f64) and its metadata.
struct Fixture {
    name: String,
    tensors: HashMap<String, (Vec<usize>, Vec<f64>)>,
    meta: HashMap<String, String>,
}

impl Fixture {
    fn load(file: &str) -> Self {
        // SPIKEDELAY_MANIFEST_DIR: where the crate is when this binary runs on another machine
        // (tools/gpu/check.sh).
        let root = std::env::var_os("SPIKEDELAY_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
        let path = root.join("tests/fixtures/reference").join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let d = view.data();
            let values: Vec<f64> = match view.dtype() {
                Dtype::F32 => d
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                    .collect(),
                Dtype::F64 => d
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
                Dtype::I64 => d
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                    .collect(),
                other => panic!("{file}: {name}: unexpected dtype {other:?}"),
            };
            tensors.insert(name, (view.shape().to_vec(), values));
        }
        Fixture {
            name: file.into(),
            tensors,
            meta: header.metadata().clone().unwrap_or_default(),
        }
    }

    fn get(&self, key: &str) -> &(Vec<usize>, Vec<f64>) {
        self.tensors
            .get(key)
            .unwrap_or_else(|| panic!("{}: no tensor `{key}`", self.name))
    }

    fn f32s(&self, key: &str) -> Vec<f32> {
        self.get(key).1.iter().map(|&v| v as f32).collect()
    }

    fn scalar(&self, key: &str) -> f64 {
        self.get(key).1[0]
    }

    /// A `(T, B, C)` reference tensor as our `(B, T, C)` layout.
    fn seq(&self, key: &str) -> Seq {
        let (shape, v) = self.get(key);
        let (t, b, c) = (shape[0], shape[1], shape[2]);
        let mut out = Seq::zeros(b, t, c);
        for ti in 0..t {
            for bi in 0..b {
                for ci in 0..c {
                    out.data[(bi * t + ti) * c + ci] = v[(ti * b + bi) * c + ci] as f32;
                }
            }
        }
        out
    }
}

/// max |ours − theirs| / max |theirs|.
fn rel_err(ours: &[f32], theirs: &[f32]) -> f64 {
    assert_eq!(ours.len(), theirs.len(), "length mismatch");
    let scale = theirs
        .iter()
        .fold(0.0f64, |m, &v| m.max((v as f64).abs()))
        .max(1e-30);
    ours.iter()
        .zip(theirs)
        .fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()))
        / scale
}

fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tol: f64) {
    let e = rel_err(ours, theirs);
    assert!(e <= tol, "{what}: relative error {e:.3e} exceeds {tol:.0e}");
}

// ------------------------------------------------------------------------------------------
// Kernels

/// Reference kernel `(C_out, C_in, D)` by tap → ours `(C_in, D, C_out)` by delay.
fn to_delay_major(k: &[f32], c_out: usize, c_in: usize, taps: usize) -> Vec<f32> {
    let mut out = vec![0.0; k.len()];
    for o in 0..c_out {
        for i in 0..c_in {
            for n in 0..taps {
                out[(i * taps + (taps - 1 - n)) * c_out + o] = k[(o * c_in + i) * taps + n];
            }
        }
    }
    out
}

#[test]
fn kernels_and_their_gradients_match_dcls() {
    let fx = Fixture::load("kernels.safetensors");
    let versions: HashMap<String, String> = serde_json::from_str(&fx.meta["versions"]).unwrap();
    assert_eq!(versions.len(), 7);
    for (case, version) in &versions {
        let (wshape, _) = fx.get(&format!("{case}.weight"));
        let (c_out, c_in, kc) = (wshape[0], wshape[1], wshape[2]);
        let taps = fx.get(&format!("{case}.kernel")).0[2];
        let kind = if version == "gauss" {
            KernelKind::Gauss
        } else {
            KernelKind::Triangle
        };
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let mut layer = DclsLayer::new(c_in, c_out, taps, kc, kind, Sig::ZERO, &mut rng).unwrap();
        layer.weight = fx.f32s(&format!("{case}.weight"));
        layer.position = fx.f32s(&format!("{case}.position"));
        layer.sig = Sig::raw(fx.scalar(&format!("{case}.sig")) as f32);
        let theirs = to_delay_major(&fx.f32s(&format!("{case}.kernel")), c_out, c_in, taps);
        let ours = layer.build_kernel();
        assert_close(&format!("{case} kernel"), &ours, &theirs, FORWARD_TOL);

        let gk = to_delay_major(&fx.f32s(&format!("{case}.upstream")), c_out, c_in, taps);
        let mut grads = DclsGrads::zeros(&layer);
        layer.kernel_param_grads(&gk, &mut grads, true);
        assert_close(
            &format!("{case} ∂/∂W"),
            &grads.weight,
            &fx.f32s(&format!("{case}.grad_weight")),
            GRAD_TOL,
        );
        assert_close(
            &format!("{case} ∂/∂P"),
            &grads.position,
            &fx.f32s(&format!("{case}.grad_position")),
            GRAD_TOL,
        );

        if case == "max_rounded" {
            // integer positions, SIG = 0: exactly the integer kernel
            layer.kind = KernelKind::Integer;
            assert_eq!(
                layer.build_kernel(),
                ours,
                "triangle at SIG = 0 vs integer kernel"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Networks

pub(crate) struct Case {
    fx: Fixture,
    pub net: Network,
    pub x: Seq,
    pub labels: Vec<usize>,
    pub masks: Vec<Vec<f32>>,
}

pub(crate) fn load_case(name: &str) -> Case {
    let fx = Fixture::load(&format!("network_{name}.safetensors"));
    let cfg: serde_json::Value = serde_json::from_str(&fx.meta["config"]).unwrap();
    let delays = match cfg["mode"].as_str().unwrap() {
        "learned" => DelayMode::Learned,
        "fixed" => DelayMode::Fixed,
        "none" => DelayMode::None,
        other => panic!("unknown mode {other}"),
    };
    let hidden: Vec<usize> = cfg["hidden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let config = NetworkConfig {
        inputs: cfg["inputs"].as_u64().unwrap() as usize,
        hidden: hidden.clone(),
        outputs: cfg["outputs"].as_u64().unwrap() as usize,
        taps: cfg["taps"].as_u64().unwrap() as usize,
        kernel_count: 1,
        tau: cfg["tau"].as_f64().unwrap(),
        v_threshold: 1.0,
        dropout: cfg["dropout"].as_f64().unwrap() as f32,
        delays,
        sig_init: cfg["sig"].as_f64().unwrap() as f32,
    };
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let mut net = Network::new(&config, &mut rng).unwrap();
    set_params(
        &mut net,
        &fx,
        "init.",
        delays == DelayMode::Fixed || delays == DelayMode::Learned,
    );
    if delays == DelayMode::Learned {
        net.set_sig(Sig::raw(config.sig_init));
    }
    let x = fx.seq("input");
    let labels = fx.get("labels").1.iter().map(|&v| v as usize).collect();
    let masks = (0..hidden.len())
        .map(|l| fx.f32s(&format!("masks.{l}")))
        .collect();
    Case {
        fx,
        net,
        x,
        labels,
        masks,
    }
}

fn set_params(net: &mut Network, fx: &Fixture, prefix: &str, positions: bool) {
    for (l, layer) in net.layers_mut().enumerate() {
        layer.weight = fx.f32s(&format!("{prefix}layers.{l}.weight"));
        if positions {
            layer.position = fx.f32s(&format!("{prefix}layers.{l}.position"));
        }
    }
    for (l, b) in net.blocks.iter_mut().enumerate() {
        b.norm.gamma = fx.f32s(&format!("{prefix}blocks.{l}.norm.gamma"));
        b.norm.beta = fx.f32s(&format!("{prefix}blocks.{l}.norm.beta"));
    }
}

fn check_network(name: &str) {
    let Case {
        fx,
        mut net,
        x,
        labels,
        masks,
    } = load_case(name);
    let learned = net.config.delays == DelayMode::Learned;

    // Layer by layer: delay conv → BatchNorm → LIF → dropout, each against the reference.
    let mut probe = net.clone();
    let lif = Lif::new(net.config.tau, 1.0);
    let mut cur = x.clone();
    for (l, block) in probe.blocks.iter_mut().enumerate() {
        let a = block.conv.forward(&cur, net.conv_path).unwrap();
        assert_close(
            &format!("{name} layer {l} conv"),
            &a.data,
            &fx.seq(&format!("forward.layer{l}.conv_out")).data,
            FORWARD_TOL,
        );
        let (z, _) = block.norm.forward_train(&a).unwrap();
        assert_close(
            &format!("{name} layer {l} BatchNorm"),
            &z.data,
            &fx.seq(&format!("forward.layer{l}.bn_out")).data,
            FORWARD_TOL,
        );
        let (mut s, _) = lif.forward(&z, Charge::Train);
        assert_eq!(
            s,
            fx.seq(&format!("forward.layer{l}.spikes")),
            "{name} layer {l} spikes"
        );
        spikedelay::model::SeqDropout::apply(&mut s, &masks[l]);
        assert_eq!(
            s,
            fx.seq(&format!("forward.layer{l}.dropout_out")),
            "{name} layer {l} dropout"
        );
        cur = s;
    }
    let a = probe.output.forward(&cur, net.conv_path).unwrap();
    assert_close(
        &format!("{name} output conv"),
        &a.data,
        &fx.seq("forward.out.conv_out").data,
        FORWARD_TOL,
    );

    // The whole network: readout, loss, every gradient, running statistics.
    let (v, cache) = net.forward_train_masked(&x, &masks).unwrap();
    assert_close(
        &format!("{name} readout"),
        &v.data,
        &fx.seq("forward.readout").data,
        FORWARD_TOL,
    );
    let out = sum_softmax_cross_entropy(&v, &labels, true).unwrap();
    assert_close(
        &format!("{name} loss"),
        &[out.loss as f32],
        &fx.f32s("forward.loss"),
        FORWARD_TOL,
    );
    let (grads, gx) = net.backward(&cache, out.grad.as_ref().unwrap(), true);
    for (l, g) in grads.layers.iter().enumerate() {
        assert_close(
            &format!("{name} ∂/∂W layer {l}"),
            &g.weight,
            &fx.f32s(&format!("grad.layers.{l}.weight")),
            GRAD_TOL,
        );
        if learned {
            assert_close(
                &format!("{name} ∂/∂P layer {l}"),
                &g.position,
                &fx.f32s(&format!("grad.layers.{l}.position")),
                GRAD_TOL,
            );
        }
    }
    for (l, g) in grads.norms.iter().enumerate() {
        assert_close(
            &format!("{name} ∂/∂γ block {l}"),
            &g.gamma,
            &fx.f32s(&format!("grad.blocks.{l}.norm.gamma")),
            GRAD_TOL,
        );
        assert_close(
            &format!("{name} ∂/∂β block {l}"),
            &g.beta,
            &fx.f32s(&format!("grad.blocks.{l}.norm.beta")),
            GRAD_TOL,
        );
        let n = &net.blocks[l].norm;
        assert_close(
            &format!("{name} running mean {l}"),
            &n.running_mean,
            &fx.f32s(&format!("after_forward.blocks.{l}.norm.running_mean")),
            FORWARD_TOL,
        );
        assert_close(
            &format!("{name} running var {l}"),
            &n.running_var,
            &fx.f32s(&format!("after_forward.blocks.{l}.norm.running_var")),
            FORWARD_TOL,
        );
    }
    assert_close(
        &format!("{name} ∂/∂x"),
        &gx.unwrap().data,
        &fx.seq("grad.input").data,
        GRAD_TOL,
    );

    // The rounded evaluation model (running statistics of that forward pass).
    let (ev, spikes) = net.rounded().forward_eval(&x).unwrap();
    for (l, s) in spikes.iter().enumerate() {
        assert_eq!(
            s,
            &fx.seq(&format!("eval.layer{l}.spikes")),
            "{name} eval spikes layer {l}"
        );
    }
    assert_close(
        &format!("{name} eval readout"),
        &ev.data,
        &fx.seq("eval.readout").data,
        FORWARD_TOL,
    );
    let eloss = sum_softmax_cross_entropy(&ev, &labels, false).unwrap().loss;
    assert_close(
        &format!("{name} eval loss"),
        &[eloss as f32],
        &fx.f32s("eval.loss"),
        FORWARD_TOL,
    );

    check_optimizer(name, &fx, &net);
}

/// One and two optimiser steps with the reference's gradients and schedules.
fn check_optimizer(name: &str, fx: &Fixture, trained: &Network) {
    let learned = trained.config.delays == DelayMode::Learned;
    let (epoch, total) = (
        fx.get("optim.epoch").1[0] as usize,
        fx.get("optim.epoch").1[1] as usize,
    );
    let (lr, beta1) = OneCycle::new(5e-3, total).at(epoch);
    assert!(
        (lr - fx.scalar("optim.lr_weights")).abs() <= 1e-12 * lr,
        "{name}: one-cycle lr {lr}"
    );
    assert!(
        (beta1 - fx.scalar("optim.beta1")).abs() <= 1e-12,
        "{name}: one-cycle β1 {beta1}"
    );
    let mut net = trained.clone();
    let positions = learned || net.config.delays == DelayMode::Fixed;
    set_params(&mut net, fx, "init.", positions);
    let grads = NetworkGrads {
        layers: (0..net.blocks.len() + 1)
            .map(|l| DclsGrads {
                weight: fx.f32s(&format!("grad.layers.{l}.weight")),
                position: if learned {
                    fx.f32s(&format!("grad.layers.{l}.position"))
                } else {
                    vec![0.0; net.layers().nth(l).unwrap().position.len()]
                },
            })
            .collect(),
        norms: (0..net.blocks.len())
            .map(|l| NormGrads {
                gamma: fx.f32s(&format!("grad.blocks.{l}.norm.gamma")),
                beta: fx.f32s(&format!("grad.blocks.{l}.norm.beta")),
            })
            .collect(),
    };
    let mut opt = NetworkOptimizer::new(&net);
    opt.weights.lr = lr;
    opt.weights.beta1 = beta1;
    if learned {
        let lr_p = CosineAnnealing {
            base_lr: 0.1,
            t_max: total,
        }
        .at(epoch);
        assert!(
            (lr_p - fx.scalar("optim.lr_positions")).abs() <= 1e-12,
            "{name}: cosine lr {lr_p}"
        );
        opt.positions.lr = lr_p;
    }
    for step in 1..=2 {
        opt.step(&mut net, &grads, 1e-5);
        let p = format!("step{step}.");
        for (l, layer) in net.layers().enumerate() {
            assert_close(
                &format!("{name} step {step} W {l}"),
                &layer.weight,
                &fx.f32s(&format!("{p}layers.{l}.weight")),
                1e-5,
            );
            if learned {
                assert_close(
                    &format!("{name} step {step} P {l}"),
                    &layer.position,
                    &fx.f32s(&format!("{p}layers.{l}.position")),
                    1e-5,
                );
            }
        }
        for (l, b) in net.blocks.iter().enumerate() {
            assert_close(
                &format!("{name} step {step} γ {l}"),
                &b.norm.gamma,
                &fx.f32s(&format!("{p}blocks.{l}.norm.gamma")),
                1e-5,
            );
            assert_close(
                &format!("{name} step {step} β {l}"),
                &b.norm.beta,
                &fx.f32s(&format!("{p}blocks.{l}.norm.beta")),
                1e-5,
            );
        }
    }
}

#[test]
fn network_learned_delays_matches_reference() {
    check_network("learned");
}

#[test]
fn network_learned_shd_settings_matches_reference() {
    // τ = 1.005 (SHD), σ_eff = 0.5, dropout 0.4, D = 9
    check_network("learned_shd");
}

#[test]
fn network_fixed_delays_matches_reference() {
    check_network("fixed");
}

#[test]
fn network_no_delays_matches_reference() {
    check_network("none");
}

// ------------------------------------------------------------------------------------------
// Schedules over whole runs

#[test]
fn schedules_match_torch_over_whole_runs() {
    let fx = Fixture::load("schedules.safetensors");
    for name in ["shd", "ssc", "gsc", "short"] {
        let cfg = &fx.get(&format!("{name}.config")).1;
        let (epochs, sig_init) = (cfg[0] as usize, cfg[1] as f32);
        let one = OneCycle::new(5e-3, epochs);
        let cos = CosineAnnealing {
            base_lr: 0.1,
            t_max: epochs,
        };
        let sig = SigmaSchedule::new(sig_init, epochs);
        let lrs = &fx.get(&format!("{name}.lr_weights")).1;
        let betas = &fx.get(&format!("{name}.beta1")).1;
        let lrp = &fx.get(&format!("{name}.lr_positions")).1;
        let sigs = fx.f32s(&format!("{name}.sig"));
        assert_eq!(lrs.len(), epochs);
        for e in 0..epochs {
            let (lr, b1) = one.at(e);
            assert!(
                (lr - lrs[e]).abs() <= 1e-12 + 1e-9 * lrs[e],
                "{name} epoch {e}: lr {lr} vs {}",
                lrs[e]
            );
            assert!(
                (b1 - betas[e]).abs() <= 1e-12,
                "{name} epoch {e}: β1 {b1} vs {}",
                betas[e]
            );
            assert!(
                (cos.at(e) - lrp[e]).abs() <= 1e-12 + 1e-9 * lrp[e],
                "{name} epoch {e}: lr_pos {} vs {}",
                cos.at(e),
                lrp[e]
            );
            assert_eq!(sig.sig(e).value(), sigs[e], "{name} epoch {e}: SIG");
        }
    }
}
