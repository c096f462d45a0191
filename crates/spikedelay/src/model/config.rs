//! `[model]`: the network in the units a user thinks in (milliseconds), validated and resolved
//! into [`NetworkConfig`] (time steps) for given input and class counts (docs/method.md §18).

use serde::{Deserialize, Serialize};

use super::network::{DelayMode, NetworkConfig};
use crate::error::{Error, Result};
use crate::kernels::plan::ConvPath;

/// `[model]`: the network (times in ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Hidden layer widths. Default: `[48, 48]`.
    pub hidden: Vec<usize>,
    /// Duration of one time step. Default: 10 ms.
    pub time_step_ms: f64,
    /// Maximum delay; `D = max_delay_ms // time_step_ms`, plus one if even. Default: 250 ms (D = 25).
    pub max_delay_ms: f64,
    /// Membrane time constant; `τ = (tau_ms + 1e-9)/time_step_ms` steps, must exceed 1.
    /// Default: 10.05 ms (τ = 1.005, as the reference's SHD config).
    pub tau_ms: f64,
    /// Hidden firing threshold. Default: 1.
    pub v_threshold: f32,
    /// Dropout probability after each hidden layer. Default: 0.25.
    pub dropout: f32,
    /// Kernel elements per synapse. Default: 1.
    pub kernel_count: usize,
    /// Delay treatment: `learned`, `fixed`, `none` or `constant-sigma`. Default: `learned`.
    pub delays: DelayMode,
    /// How delay convolutions are computed in training: `auto` (per layer and batch, by a cost
    /// model), `events`, `gemm`, `narrow` or `low-rank`. All agree within 1e-5; `events` sums in
    /// the integer-delay network's order. Default: `auto`.
    pub conv_path: ConvPath,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            hidden: vec![48, 48],
            time_step_ms: 10.0,
            max_delay_ms: 250.0,
            tau_ms: 10.05,
            v_threshold: 1.0,
            dropout: 0.25,
            kernel_count: 1,
            delays: DelayMode::Learned,
            conv_path: ConvPath::Auto,
        }
    }
}

impl ModelConfig {
    /// Number of delay taps `D` (method §2: `max_delay_ms // time_step_ms`, plus one if even).
    pub fn taps(&self) -> usize {
        let d = (self.max_delay_ms / self.time_step_ms).floor() as usize;
        if d.is_multiple_of(2) { d + 1 } else { d }
    }

    /// `τ` in steps: `(tau_ms + 1e-9)/time_step_ms` (method §9).
    pub fn tau_steps(&self) -> f64 {
        (self.tau_ms + 1e-9) / self.time_step_ms
    }

    /// Checks every value; errors name the `model.*` key.
    pub fn validate(&self) -> Result<()> {
        if !(self.time_step_ms > 0.0 && self.time_step_ms.is_finite()) {
            return Err(Error::config(
                "model.time_step_ms",
                format!("must be a positive number of ms, got {}", self.time_step_ms),
            ));
        }
        if self.max_delay_ms.is_nan() || self.max_delay_ms < self.time_step_ms {
            return Err(Error::config(
                "model.max_delay_ms",
                format!(
                    "is {} ms, below one time step ({} ms): the maximum delay must cover at least one step",
                    self.max_delay_ms, self.time_step_ms
                ),
            ));
        }
        if self.tau_steps().is_nan() || self.tau_steps() <= 1.0 {
            return Err(Error::config(
                "model.tau_ms",
                format!(
                    "gives τ = {:.4} steps; the LIF needs τ > 1 step (tau_ms > time_step_ms = {} ms)",
                    self.tau_steps(),
                    self.time_step_ms
                ),
            ));
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(Error::config(
                "model.hidden",
                format!("needs one or more positive widths, got {:?}", self.hidden),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config(
                "model.dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        if self.v_threshold.is_nan() || self.v_threshold <= 0.0 {
            return Err(Error::config(
                "model.v_threshold",
                format!("must be positive, got {}", self.v_threshold),
            ));
        }
        if self.kernel_count == 0 {
            return Err(Error::config("model.kernel_count", "must be at least 1"));
        }
        Ok(())
    }

    /// The resolved network for `inputs` channels and `outputs` classes.
    pub fn network_config(&self, inputs: usize, outputs: usize) -> NetworkConfig {
        let taps = self.taps();
        NetworkConfig {
            inputs,
            hidden: self.hidden.clone(),
            outputs,
            taps,
            kernel_count: self.kernel_count,
            tau: self.tau_steps(),
            v_threshold: self.v_threshold,
            dropout: self.dropout,
            delays: self.delays,
            sig_init: (taps / 2) as f32,
        }
    }
}
