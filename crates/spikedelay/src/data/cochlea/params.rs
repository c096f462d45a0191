//! The ear model's parameters, `lauscher`'s defaults as ours (docs/cochlea.md §1–§4).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Basilar membrane (Sieroka, Dosch, Rupp 2006), docs/cochlea.md §2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MembraneParams {
    /// `a`, stiffness offset.
    pub a: f64,
    /// `α`, the exponential decay of stiffness along the membrane.
    pub alpha: f64,
    /// `ρ`, fluid density.
    pub rho: f64,
    /// Length of the membrane: channels sit at linspace(0, c_max, channels).
    pub c_max: f64,
    /// `c₀`, basal stiffness (lauscher ≥ 1.0 writes `10e8`, earlier versions `10e7`).
    pub c0: f64,
    /// `d_e`, damping.
    pub de: f64,
    /// `h`, height of the scala.
    pub h: f64,
    /// `m`, membrane mass.
    pub m: f64,
}

impl Default for MembraneParams {
    fn default() -> Self {
        MembraneParams {
            a: 3500.0,
            alpha: 3.0,
            rho: 1.0,
            c_max: 3.5,
            c0: 10e8,
            de: 0.15,
            h: 0.1,
            m: 0.05,
        }
    }
}

/// Inner hair cell (Meddis 1986/1988 transmitter pools), docs/cochlea.md §3.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HairCellParams {
    /// Replenishment rate.
    pub y: f64,
    /// Permeability gain.
    pub g: f64,
    /// Loss rate.
    pub l: f64,
    /// Reuptake rate.
    pub r: f64,
    /// Reprocessing rate.
    pub x: f64,
    /// Permeability offset.
    pub a: f64,
    /// Permeability saturation.
    pub b: f64,
    /// Firing rate per unit cleft contents.
    pub h: f64,
    /// Maximum free transmitter.
    pub m: f64,
}

impl Default for HairCellParams {
    fn default() -> Self {
        HairCellParams {
            y: 5.05,
            g: 2000.0,
            l: 2500.0,
            r: 6580.0,
            x: 66.3,
            a: 5.0,
            b: 300.0,
            h: 50000.0,
            m: 1.0,
        }
    }
}

/// Bushy cell: `fibres` hair-cell fibres with a refractory period drive one LIF neuron per
/// channel, docs/cochlea.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BushyCellParams {
    /// Fibres converging on one bushy cell.
    pub fibres: usize,
    /// Membrane time constant, s.
    pub tau_mem: f64,
    /// Synaptic time constant, s.
    pub tau_syn: f64,
    /// Refractory period of fibres and cell, s.
    pub tau_refrac: f64,
    /// Total synaptic weight (each fibre's weight is this over `fibres`).
    pub weight: f64,
}

impl Default for BushyCellParams {
    fn default() -> Self {
        BushyCellParams {
            fibres: 40,
            tau_mem: 1e-3,
            tau_syn: 5e-4,
            tau_refrac: 1e-3,
            weight: 13e3,
        }
    }
}

/// The whole chain (lauscher's `Wave2Spike`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CochleaParams {
    /// Frequency channels (positions along the membrane); SHD has 700.
    pub channels: usize,
    /// RMS the waveform is normalised to.
    pub rms: f64,
    /// Basilar membrane.
    pub membrane: MembraneParams,
    /// Inner hair cells.
    pub hair_cell: HairCellParams,
    /// Bushy cells.
    pub bushy_cell: BushyCellParams,
}

impl Default for CochleaParams {
    fn default() -> Self {
        CochleaParams {
            channels: 700,
            rms: 0.3,
            membrane: MembraneParams::default(),
            hair_cell: HairCellParams::default(),
            bushy_cell: BushyCellParams::default(),
        }
    }
}

/// Most channels a run accepts (spike files store units as u16).
pub const MAX_CHANNELS: usize = 65_535;

impl CochleaParams {
    /// Checks the values a run depends on; errors name the option.
    pub fn validate(&self) -> Result<()> {
        if self.channels == 0 || self.channels > MAX_CHANNELS {
            return Err(Error::config(
                "channels",
                format!(
                    "must be 1 to {MAX_CHANNELS} (spike files store u16 units), got {}",
                    self.channels
                ),
            ));
        }
        let positive = [
            ("rms", self.rms),
            ("membrane.alpha", self.membrane.alpha),
            ("membrane.rho", self.membrane.rho),
            ("membrane.c0", self.membrane.c0),
            ("membrane.h", self.membrane.h),
            ("membrane.m", self.membrane.m),
            ("bushy_cell.tau_mem", self.bushy_cell.tau_mem),
            ("bushy_cell.tau_syn", self.bushy_cell.tau_syn),
        ];
        for (key, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(
                    key,
                    format!("must be a positive number, got {v}"),
                ));
            }
        }
        if self.bushy_cell.fibres == 0 || self.bushy_cell.fibres > 255 {
            return Err(Error::config(
                "bushy_cell.fibres",
                format!("must be 1 to 255, got {}", self.bushy_cell.fibres),
            ));
        }
        Ok(())
    }
}
