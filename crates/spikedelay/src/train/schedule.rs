//! Per-epoch schedules (method §7, §14): one-cycle for the weights, cosine for the positions, and
//! the exponential σ schedule. Epoch `e` (0-based) trains with the value at step `e`.

use std::f64::consts::PI;

use crate::model::Sig;
use crate::model::network::SIG_FINAL;

/// `b + (a − b)/2 · (1 + cos(π·x))`: cosine interpolation from `a` (x = 0) to `b` (x = 1).
fn anneal(a: f64, b: f64, x: f64) -> f64 {
    b + (a - b) / 2.0 * (1.0 + (PI * x).cos())
}

/// PyTorch `OneCycleLR` (cosine, cycled momentum) stepped once per epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct OneCycle {
    /// Peak learning rate. Default: 5e-3.
    pub max_lr: f64,
    /// Total steps (= epochs).
    pub total_steps: usize,
    /// Fraction of steps spent rising. Default: 0.3.
    pub pct_start: f64,
    /// `initial lr = max_lr / div_factor`. Default: 25.
    pub div_factor: f64,
    /// `min lr = initial lr / final_div_factor`. Default: 1e4.
    pub final_div_factor: f64,
    /// β1 at the peak learning rate. Default: 0.85.
    pub base_momentum: f64,
    /// β1 at the ends. Default: 0.95.
    pub max_momentum: f64,
}

impl OneCycle {
    /// The reference's schedule for `epochs` epochs with peak `max_lr`.
    pub fn new(max_lr: f64, epochs: usize) -> Self {
        OneCycle {
            max_lr,
            total_steps: epochs,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            base_momentum: 0.85,
            max_momentum: 0.95,
        }
    }

    /// `(lr, β1)` at step `e`.
    pub fn at(&self, e: usize) -> (f64, f64) {
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let peak = self.pct_start * self.total_steps as f64 - 1.0;
        let last = self.total_steps as f64 - 1.0;
        let e = e as f64;
        if e <= peak {
            let x = e / peak;
            (
                anneal(initial, self.max_lr, x),
                anneal(self.max_momentum, self.base_momentum, x),
            )
        } else {
            let x = (e - peak) / (last - peak);
            (
                anneal(self.max_lr, min, x),
                anneal(self.base_momentum, self.max_momentum, x),
            )
        }
    }
}

/// PyTorch `CosineAnnealingLR(T_max = epochs, eta_min = 0)`: `lr(e) = base/2 · (1 + cos(π e/T))`.
#[derive(Debug, Clone, PartialEq)]
pub struct CosineAnnealing {
    /// Starting learning rate. Default: 0.1.
    pub base_lr: f64,
    /// Period `T_max` (= epochs).
    pub t_max: usize,
}

impl CosineAnnealing {
    /// Learning rate at step `e`.
    pub fn at(&self, e: usize) -> f64 {
        anneal(self.base_lr, 0.0, e as f64 / self.t_max as f64)
    }
}

/// The σ schedule of method §7: `SIG ← SIG·α` after each epoch `e < final_epoch` while `SIG > 0.23`,
/// with `final_epoch = epochs // 4` and `α = (0.23/SIG_init)^(1/final_epoch)`, in f32 as the
/// reference. Runs shorter than 4 epochs (where the reference divides by zero) use
/// `final_epoch = 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaSchedule {
    /// `SIG` at epoch 0.
    pub sig_init: f32,
    /// Epoch from which `SIG = 0.23` (σ_eff = 0.5).
    pub final_epoch: usize,
}

impl SigmaSchedule {
    /// The schedule for a run of `epochs` epochs starting from `sig_init`.
    pub fn new(sig_init: f32, epochs: usize) -> Self {
        SigmaSchedule {
            sig_init,
            final_epoch: (epochs / 4).max(1),
        }
    }

    /// A schedule that keeps `SIG` fixed (constant-σ ablation).
    pub fn constant(sig: Sig) -> Self {
        SigmaSchedule {
            sig_init: sig.value(),
            final_epoch: 0,
        }
    }

    /// Shrink factor `α` per epoch.
    pub fn alpha(&self) -> f64 {
        if self.final_epoch == 0 {
            return 1.0;
        }
        (SIG_FINAL.value() as f64 / self.sig_init as f64).powf(1.0 / self.final_epoch as f64)
    }

    /// Raw `SIG` used while training epoch `e`.
    pub fn sig(&self, e: usize) -> Sig {
        let alpha = self.alpha() as f32;
        let mut sig = self.sig_init;
        for j in 0..e.min(self.final_epoch) {
            if j < self.final_epoch && sig as f64 > SIG_FINAL.value() as f64 {
                sig *= alpha;
            }
        }
        Sig::raw(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-12)
    }

    #[test]
    fn one_cycle_matches_spec_table() {
        // method §14.3
        let shd = OneCycle::new(5e-3, 150);
        for (e, lr, b1) in [
            (0, 2.0e-4, 0.95),
            (10, 7.8620e-4, 0.9378),
            (22, 2.6000e-3, 0.9000),
            (44, 5.0e-3, 0.85),
            (97, 2.4626e-3, 0.9007),
            (140, 9.0112e-5, 0.9482),
            (149, 2.0e-8, 0.95),
        ] {
            let (l, b) = shd.at(e);
            assert!(close(l, lr, 1e-4), "SHD epoch {e}: lr {l} vs {lr}");
            assert!((b - b1).abs() < 1e-4, "SHD epoch {e}: β1 {b} vs {b1}");
        }
        let ssc = OneCycle::new(5e-3, 60);
        for (e, lr, b1) in [
            (10, 3.2568e-3, 0.8863),
            (17, 5.0e-3, 0.85),
            (38, 2.5e-3, 0.9),
            (59, 2.0e-8, 0.95),
        ] {
            let (l, b) = ssc.at(e);
            assert!(close(l, lr, 1e-4) && (b - b1).abs() < 1e-4, "SSC epoch {e}");
        }
        let gsc = OneCycle::new(5e-3, 100);
        for (e, lr, b1) in [
            (10, 1.4758e-3, 0.9234),
            (29, 5.0e-3, 0.85),
            (64, 2.5e-3, 0.9),
            (99, 2.0e-8, 0.95),
        ] {
            let (l, b) = gsc.at(e);
            assert!(close(l, lr, 1e-4) && (b - b1).abs() < 1e-4, "GSC epoch {e}");
        }
    }

    #[test]
    fn cosine_matches_spec_table() {
        let c = CosineAnnealing {
            base_lr: 0.1,
            t_max: 150,
        };
        for (e, lr) in [
            (0, 0.1),
            (10, 9.8907e-2),
            (44, 8.0230e-2),
            (97, 2.7768e-2),
            (149, 1.0966e-5),
        ] {
            assert!(close(c.at(e), lr, 1e-4), "epoch {e}: {}", c.at(e));
        }
        let c = CosineAnnealing {
            base_lr: 0.1,
            t_max: 60,
        };
        assert!(close(c.at(59), 6.8523e-5, 1e-4));
    }

    #[test]
    fn sigma_matches_spec_table() {
        // method §7: σ_eff = SIG + 0.27
        type Case<'a> = (f32, usize, &'a [(usize, f32)]);
        let cases: [Case; 3] = [
            (
                12.0,
                150,
                &[
                    (0, 12.270),
                    (1, 11.054),
                    (5, 7.302),
                    (10, 4.391),
                    (20, 1.685),
                    (36, 0.526),
                    (37, 0.5),
                    (149, 0.5),
                ],
            ),
            (
                15.0,
                60,
                &[
                    (0, 15.270),
                    (1, 11.624),
                    (5, 3.997),
                    (10, 1.196),
                    (14, 0.574),
                    (15, 0.5),
                    (20, 0.5),
                ],
            ),
            (
                15.0,
                100,
                &[
                    (1, 12.962),
                    (5, 6.775),
                    (10, 3.091),
                    (20, 0.800),
                    (24, 0.542),
                    (25, 0.5),
                ],
            ),
        ];
        for (init, epochs, rows) in cases {
            let s = SigmaSchedule::new(init, epochs);
            for &(e, eff) in rows {
                let got = s.sig(e).gauss_width();
                assert!(
                    (got - eff).abs() < 1.5e-3,
                    "init {init}, epoch {e}: {got} vs {eff}"
                );
            }
        }
        assert!((SigmaSchedule::new(12.0, 150).alpha() - 0.89863).abs() < 1e-5);
        assert_eq!(
            SigmaSchedule::constant(Sig::raw(0.23)).sig(40),
            Sig::raw(0.23)
        );
    }
}
