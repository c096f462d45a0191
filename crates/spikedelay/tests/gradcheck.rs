//! Every backward pass against central finite differences: delay layers (weights, positions,
//! inputs) for every kernel version, BatchNorm (γ, β, input), LIF through time, readout, and the
//! whole network.

use spikedelay::Seq;
use spikedelay::model::Sig;
use spikedelay::model::lif::{Charge, SpikeFn};
use spikedelay::model::norm::NormGrads;
use spikedelay::model::{
    ConvPath, ConvPlan, DclsGrads, DclsLayer, DelayMode, GradsWanted, KernelKind, Lif, Network,
    NetworkConfig, Readout, TimeBatchNorm, sum_softmax_cross_entropy,
};

use crate::common::{check_gradient, project, rng, spikes, uniform};

/// Positions whose fractional part keeps clear of the triangle kernel's kinks (at integers and
/// half-integers for the widths used here).
fn safe_positions(n: usize, half: f32, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    uniform(n, -half + 1.0, half - 1.0, &mut r)
        .into_iter()
        .zip(uniform(n, 0.15, 0.35, &mut r))
        .map(|(p, f)| p.floor() + f)
        .collect()
}

/// Runs the check for every convolution path.
fn dcls_case(kind: KernelKind, sig: f32, kernel_count: usize, dense_input: bool) {
    for path in [
        ConvPath::Events,
        ConvPath::Gemm,
        ConvPath::Narrow,
        ConvPath::LowRank,
        ConvPath::Fft,
    ] {
        dcls_case_on(kind, sig, kernel_count, dense_input, path, 7);
    }
}

fn dcls_case_on(
    kind: KernelKind,
    sig: f32,
    kernel_count: usize,
    dense_input: bool,
    path: ConvPath,
    taps: usize,
) {
    let (c_in, c_out, b, t) = (3, 4, 2, 6);
    let mut r = rng(11);
    let mut layer =
        DclsLayer::new(c_in, c_out, taps, kernel_count, kind, Sig::raw(sig), &mut r).unwrap();
    layer.position = safe_positions(layer.position.len(), (taps / 2) as f32, 12);
    let x = if dense_input {
        Seq::from_vec(b, t, c_in, uniform(b * t * c_in, -1.0, 1.0, &mut r)).unwrap()
    } else {
        spikes(b, t, c_in, 0.4, &mut r)
    };
    let t_out = t + layer.right_pad();
    let proj = uniform(b * t_out * c_out, -1.0, 1.0, &mut r);
    let loss = |l: &DclsLayer, x: &Seq| project(&l.forward(x, path).unwrap(), &proj);

    let ga = Seq::from_vec(b, t_out, c_out, proj.clone()).unwrap();
    let mut grads = DclsGrads::zeros(&layer);
    let learn = !matches!(kind, KernelKind::Integer | KernelKind::Linear);
    let (_, cache) = layer.forward_train(x.clone(), path).unwrap();
    let wanted = GradsWanted {
        positions: learn,
        input: true,
    };
    let gx = layer.backward(&ga, &cache, &mut grads, wanted).unwrap();

    let tag = format!("{kind:?} SIG={sig} KC={kernel_count} D={taps} {path:?}");
    if path == ConvPath::LowRank && kind == KernelKind::Gauss && sig >= 6.0 {
        let plan = layer.plan(&x, &layer.build_kernel(), path);
        assert!(matches!(plan, ConvPlan::LowRank(_)), "{tag}: {plan:?}");
    }
    if path == ConvPath::Fft {
        let plan = layer.plan(&x, &layer.build_kernel(), path);
        assert!(matches!(plan, ConvPlan::Spectral { .. }), "{tag}: {plan:?}");
    }
    check_gradient(
        &format!("{tag} weight"),
        &grads.weight,
        0..layer.weight.len(),
        1e-2,
        2e-4,
        1e-3,
        |j, d| {
            let mut l = layer.clone();
            l.weight[j] += d;
            loss(&l, &x)
        },
    );
    if learn {
        let h = if kind == KernelKind::Gauss {
            1e-2
        } else {
            2e-3
        };
        check_gradient(
            &format!("{tag} position"),
            &grads.position,
            0..layer.position.len(),
            h,
            5e-4,
            5e-3,
            |j, d| {
                let mut l = layer.clone();
                l.position[j] += d;
                loss(&l, &x)
            },
        );
    } else {
        assert!(
            grads.position.iter().all(|&g| g == 0.0),
            "{tag}: integer kernels give positions no gradient"
        );
    }
    check_gradient(
        &format!("{tag} input"),
        &gx.data,
        0..x.data.len(),
        1e-2,
        2e-4,
        1e-3,
        |j, d| {
            let mut xp = x.clone();
            xp.data[j] += d;
            loss(&layer, &xp)
        },
    );
}

#[test]
fn dcls_gauss_narrow() {
    dcls_case(KernelKind::Gauss, 0.23, 1, false);
}

#[test]
fn dcls_gauss_wide() {
    dcls_case(KernelKind::Gauss, 3.0, 1, true);
}

#[test]
fn dcls_gauss_two_elements_per_synapse() {
    dcls_case(KernelKind::Gauss, 1.0, 2, false);
}

#[test]
fn dcls_gauss_wide_through_tap_profiles() {
    // D = 13 at σ ≈ 6.3 and 8.3: 7 and 6 of 13 profiles (the low-rank path proper).
    for (sig, kc) in [(6.0, 1), (8.0, 2)] {
        dcls_case_on(KernelKind::Gauss, sig, kc, true, ConvPath::LowRank, 13);
        dcls_case_on(KernelKind::Gauss, sig, kc, false, ConvPath::LowRank, 13);
    }
}

#[test]
fn dcls_gauss_middle_of_the_schedule_through_spectra() {
    // σ = 1.5 and 3.27 on D = 25: Gaussians 10–35 taps wide, cut by the ends of the kernel,
    // where neither windows nor profiles pay and the spectral path runs every layer.
    for (sig, kc) in [(1.23, 1), (1.23, 2), (3.0, 1)] {
        dcls_case_on(KernelKind::Gauss, sig, kc, true, ConvPath::Fft, 25);
        dcls_case_on(KernelKind::Gauss, sig, kc, false, ConvPath::Fft, 25);
    }
}

#[test]
fn dcls_triangle_zero_width() {
    dcls_case(KernelKind::Triangle, 0.0, 1, false);
}

#[test]
fn dcls_triangle_wide() {
    dcls_case(KernelKind::Triangle, 1.6, 2, true);
}

#[test]
fn dcls_integer() {
    dcls_case(KernelKind::Integer, 0.0, 1, false);
}

#[test]
fn dcls_linear() {
    dcls_case(KernelKind::Linear, 0.0, 1, true);
}

#[test]
fn dcls_no_delay_layer() {
    // D = 1 with the linear kernel is the `none` ablation: a plain per-step linear map, W x[t].
    let mut r = rng(3);
    let layer = DclsLayer::new(5, 3, 1, 1, KernelKind::Linear, Sig::ZERO, &mut r).unwrap();
    let x = Seq::from_vec(2, 4, 5, uniform(40, -1.0, 1.0, &mut r)).unwrap();
    let a = layer.forward(&x, ConvPath::Auto).unwrap();
    assert_eq!(a.steps, 4);
    let w = 1.0f32;
    for (b, t, o) in [(0, 0, 0), (1, 3, 2), (0, 2, 1)] {
        let want: f32 = (0..5)
            .map(|i| layer.weight[o * 5 + i] * w * x.at(b, t, i))
            .sum();
        assert!((a.at(b, t, o) - want).abs() < 1e-5);
    }
}

#[test]
fn batch_norm_gamma_beta_input() {
    let (b, t, c) = (3, 5, 4);
    let mut r = rng(21);
    let a = Seq::from_vec(b, t, c, uniform(b * t * c, -2.0, 3.0, &mut r)).unwrap();
    let mut bn = TimeBatchNorm::new(c);
    bn.gamma = uniform(c, 0.5, 1.5, &mut r);
    bn.beta = uniform(c, -0.5, 0.5, &mut r);
    let proj = uniform(b * t * c, -1.0, 1.0, &mut r);
    let loss =
        |bn: &TimeBatchNorm, a: &Seq| project(&bn.clone().forward_train(a).unwrap().0, &proj);
    let (_, cache) = bn.clone().forward_train(&a).unwrap();
    let mut grads = NormGrads::zeros(c);
    let ga = bn.backward(
        &Seq::from_vec(b, t, c, proj.clone()).unwrap(),
        &cache,
        &mut grads,
    );
    check_gradient("BN gamma", &grads.gamma, 0..c, 1e-2, 1e-4, 1e-3, |j, d| {
        let mut m = bn.clone();
        m.gamma[j] += d;
        loss(&m, &a)
    });
    check_gradient("BN beta", &grads.beta, 0..c, 1e-2, 1e-4, 1e-3, |j, d| {
        let mut m = bn.clone();
        m.beta[j] += d;
        loss(&m, &a)
    });
    check_gradient(
        "BN input",
        &ga.data,
        0..a.data.len(),
        1e-2,
        2e-4,
        2e-3,
        |j, d| {
            let mut x = a.clone();
            x.data[j] += d;
            loss(&bn, &x)
        },
    );
}

/// Input currents for which no membrane value comes within `margin` of the threshold.
fn currents_clear_of_threshold(b: usize, t: usize, c: usize, lif: &Lif, margin: f32) -> Seq {
    for seed in 0..200 {
        let mut r = rng(seed);
        let x = Seq::from_vec(b, t, c, uniform(b * t * c, -0.6, 1.6, &mut r)).unwrap();
        let (s, h) = lif.forward(&x, Charge::Train);
        let spikes = s.data.iter().filter(|&&v| v > 0.5).count();
        if h.data.iter().all(|v| (v - lif.v_threshold).abs() > margin) && spikes > 5 {
            return x;
        }
    }
    panic!("no input clear of the threshold found");
}

#[test]
fn lif_backprop_through_time() {
    // With the surrogate's primitive as output and the Heaviside reset, the surrogate backward is
    // the exact gradient wherever no membrane sits at the threshold.
    for tau in [1.5f64, 4.0] {
        let mut lif = Lif::new(tau, 1.0);
        lif.spike_fn = SpikeFn::SmoothForGradcheck;
        let (b, t, c) = (2, 12, 3);
        let x = currents_clear_of_threshold(b, t, c, &lif, 0.02);
        let mut r = rng(5);
        let proj = uniform(b * t * c, -1.0, 1.0, &mut r);
        let (_, h) = lif.forward(&x, Charge::Train);
        let g = lif.backward(&Seq::from_vec(b, t, c, proj.clone()).unwrap(), &h);
        check_gradient(
            &format!("LIF τ={tau} input"),
            &g.data,
            0..x.data.len(),
            2e-3,
            2e-4,
            2e-3,
            |j, d| {
                let mut xp = x.clone();
                xp.data[j] += d;
                project(&lif.forward(&xp, Charge::Train).0, &proj)
            },
        );
        // The recursion matters: a late output depends on an early input.
        assert!(g.data[c].abs() > 0.0);
    }
}

#[test]
fn readout_backprop_through_time() {
    let ro = Readout { tau: 1.5 };
    let mut r = rng(8);
    let x = Seq::from_vec(2, 9, 3, uniform(54, -1.0, 1.0, &mut r)).unwrap();
    let proj = uniform(54, -1.0, 1.0, &mut r);
    let g = ro.backward(&Seq::from_vec(2, 9, 3, proj.clone()).unwrap());
    check_gradient("readout input", &g.data, 0..54, 1e-2, 1e-4, 1e-3, |j, d| {
        let mut xp = x.clone();
        xp.data[j] += d;
        project(&ro.forward(&xp, Charge::Train), &proj)
    });
}

fn net_config(delays: DelayMode) -> NetworkConfig {
    NetworkConfig {
        inputs: 4,
        hidden: vec![6, 5],
        outputs: 3,
        taps: 5,
        kernel_count: 1,
        tau: 1.5,
        v_threshold: 1.0,
        dropout: 0.3,
        delays,
        sig_init: 2.0,
    }
}

/// Loss of `net` in training mode with a fixed dropout mask (seed 99), and its reset pattern
/// (which hidden membranes reached the threshold).
fn net_loss(net: &Network, x: &Seq, labels: &[usize]) -> (f64, Vec<Vec<bool>>) {
    let mut n = net.clone();
    let (v, cache) = n.forward_train(x, &mut rng(99)).unwrap();
    let out = sum_softmax_cross_entropy(&v, labels, false).unwrap();
    let th = net.config.v_threshold;
    let pattern = cache
        .membranes()
        .iter()
        .map(|h| h.data.iter().map(|&v| v >= th).collect())
        .collect();
    (out.loss, pattern)
}

fn network_case(delays: DelayMode, kind: Option<KernelKind>, sig: f32) {
    let cfg = net_config(delays);
    let mut net = Network::new(&cfg, &mut rng(31)).unwrap();
    net.spike_fn = SpikeFn::SmoothForGradcheck;
    if let Some(k) = kind {
        net.layers_mut().for_each(|l| l.kind = k);
    }
    if delays.learns_positions() {
        net.set_sig(Sig::raw(sig));
        for (l, layer) in net.layers_mut().enumerate() {
            layer.position = safe_positions(layer.position.len(), 2.0, 40 + l as u64);
        }
    }
    for (l, b) in net.blocks.iter_mut().enumerate() {
        let mut r = rng(50 + l as u64);
        b.norm.gamma = uniform(b.norm.channels(), 0.8, 1.6, &mut r);
        b.norm.beta = uniform(b.norm.channels(), -0.3, 0.6, &mut r);
    }
    let mut r = rng(61);
    let x = spikes(3, 8, 4, 0.35, &mut r);
    let labels = [0, 2, 1];
    let mut trained = net.clone();
    let (v, cache) = trained.forward_train(&x, &mut rng(99)).unwrap();
    let out = sum_softmax_cross_entropy(&v, &labels, true).unwrap();
    let (grads, gx) = net.backward(&cache, out.grad.as_ref().unwrap(), true);
    let gx = gx.unwrap();
    let (_, base_pattern) = net_loss(&net, &x, &labels);

    // Entries whose perturbation flips a reset are not differentiable there; skip them but
    // require most entries to be checked.
    let tag = format!("{delays:?} {kind:?} SIG={sig}");
    let mut checked = 0usize;
    let mut total = 0usize;
    let mut check =
        |what: String, analytic: &[f32], perturb: &dyn Fn(&mut Network, &mut Seq, usize, f32)| {
            for (j, &g) in analytic.iter().enumerate() {
                total += 1;
                let h = 3e-3;
                let eval = |d: f32| {
                    let mut m = net.clone();
                    let mut xm = x.clone();
                    perturb(&mut m, &mut xm, j, d);
                    net_loss(&m, &xm, &labels)
                };
                let ((lp, pp), (lm, pm)) = (eval(h), eval(-h));
                if pp != base_pattern || pm != base_pattern {
                    continue;
                }
                let fd = (lp - lm) / (2.0 * h as f64);
                let an = g as f64;
                assert!(
                    (fd - an).abs() <= 2e-4 + 2e-2 * fd.abs().max(an.abs()),
                    "{tag} {what}[{j}]: fd {fd:.6e} vs backward {an:.6e}"
                );
                checked += 1;
            }
        };
    let learn = delays.learns_positions();
    let n_layers = net.blocks.len() + 1;
    for l in 0..n_layers {
        check(
            format!("layer {l} weight"),
            &grads.layers[l].weight,
            &|m, _, j, d| m.layers_mut().nth(l).unwrap().weight[j] += d,
        );
        if learn {
            check(
                format!("layer {l} position"),
                &grads.layers[l].position,
                &|m, _, j, d| m.layers_mut().nth(l).unwrap().position[j] += d,
            );
        }
    }
    for l in 0..net.blocks.len() {
        check(
            format!("block {l} gamma"),
            &grads.norms[l].gamma,
            &|m, _, j, d| m.blocks[l].norm.gamma[j] += d,
        );
        check(
            format!("block {l} beta"),
            &grads.norms[l].beta,
            &|m, _, j, d| m.blocks[l].norm.beta[j] += d,
        );
    }
    check("input".into(), &gx.data, &|_, xm, j, d| xm.data[j] += d);
    assert!(
        checked * 10 >= total * 8,
        "{tag}: only {checked} of {total} entries were away from a reset flip"
    );
}

#[test]
fn network_learned_gauss_wide() {
    network_case(DelayMode::Learned, None, 2.0);
}

#[test]
fn network_learned_gauss_narrow() {
    network_case(DelayMode::Learned, None, 0.23);
}

#[test]
fn network_learned_triangle() {
    network_case(DelayMode::Learned, Some(KernelKind::Triangle), 0.5);
}

#[test]
fn network_fixed_delays() {
    network_case(DelayMode::Fixed, None, 0.0);
}

#[test]
fn network_no_delays() {
    network_case(DelayMode::None, None, 0.0);
}

#[test]
fn network_constant_sigma() {
    network_case(DelayMode::ConstantSigma, None, 0.23);
}
