//! Where a run's training step runs (docs/design.md §9): the host CPU, an NVIDIA GPU through
//! CUDA loaded at run time, or the software device that runs the GPU's kernels on the host.
//!
//! [`Device`] is the choice (`--device`, `RunPlan::device`, Python's `device=`); [`Device::open`] turns it into an
//! [`Accelerator`] or none (the CPU path, today's code). On an accelerator the network's
//! parameters, optimiser moments and a batch's activations live in device memory
//! ([`DeviceNetwork`]) and only the loss, predictions and spike counts come back per batch.

mod args;
mod batch_norm;
#[cfg(feature = "cuda")]
mod cuda;
mod delay_layer;
mod gpu;
mod network;
mod software;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use network::{AdamStep, DeviceNetwork, StepReport};

use crate::error::{Error, Result};
use crate::model::Network;

/// Where the training step runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// A CUDA GPU when one can be opened (device 0), else the CPU.
    #[default]
    Auto,
    /// The host CPU (today's kernels, docs/design.md §3).
    Cpu,
    /// CUDA device `N` (`cuda` is `cuda:0`).
    Cuda(usize),
    /// The GPU's kernels compiled for and run on the host, one thread after another: for
    /// checking the device path on a machine without a GPU (slow).
    Software,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Auto => f.write_str("auto"),
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
            Device::Software => f.write_str("software"),
        }
    }
}

impl FromStr for Device {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::config(
                "device",
                format!("must be auto, cpu, cuda, cuda:N or software; got `{s}`"),
            )
        };
        Ok(match s {
            "auto" => Device::Auto,
            "cpu" => Device::Cpu,
            "cuda" => Device::Cuda(0),
            "software" => Device::Software,
            _ => match s.strip_prefix("cuda:") {
                Some(n) => Device::Cuda(n.parse().map_err(|_| bad())?),
                None => return Err(bad()),
            },
        })
    }
}

impl Serialize for Device {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An opened accelerator.
#[derive(Clone)]
pub struct Accelerator {
    gpu: Arc<dyn gpu::Gpu>,
    /// What the device resolved to: `cuda:N` or `software`.
    pub device: String,
}

impl fmt::Debug for Accelerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Accelerator({}: {})", self.device, self.name())
    }
}

impl Accelerator {
    /// The device's name (the GPU's model).
    pub fn name(&self) -> String {
        self.gpu.name()
    }

    /// The most device memory this process's buffers held at once, in bytes (CUDA: what the
    /// caching allocator took from the driver for them).
    pub fn peak_bytes(&self) -> usize {
        self.gpu.peak_bytes()
    }

    /// `net` and its optimiser moments (`(m, v)` per trained tensor in `Network::params`
    /// order; empty for zeros) on this device.
    pub fn network(&self, net: &Network, moments: &[(&[f32], &[f32])]) -> Result<DeviceNetwork> {
        DeviceNetwork::new(self.gpu.clone(), net, moments)
    }
}

impl Device {
    /// Opens the device: `None` for the CPU. `auto` is CUDA device 0 when CUDA's driver is
    /// there and has a device, else the CPU; `cuda:N` without one is an error naming what was
    /// looked for.
    pub fn open(self) -> Result<Option<Accelerator>> {
        match self {
            Device::Cpu => Ok(None),
            Device::Software => Ok(Some(Accelerator {
                gpu: Arc::new(software::SoftwareGpu::new()?),
                device: "software".into(),
            })),
            Device::Cuda(n) => open_cuda(n).map(Some),
            Device::Auto => Ok(if cuda_available() {
                open_cuda(0).ok()
            } else {
                None
            }),
        }
    }
}

#[cfg(feature = "cuda")]
fn open_cuda(n: usize) -> Result<Accelerator> {
    Ok(Accelerator {
        gpu: Arc::new(cuda::CudaGpu::open(n)?),
        device: format!("cuda:{n}"),
    })
}

#[cfg(feature = "cuda")]
fn cuda_available() -> bool {
    cuda::driver_present()
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(n: usize) -> Result<Accelerator> {
    Err(Error::Device(format!(
        "--device cuda:{n}, but this build of spikedelay has no CUDA support \
         (build with the `cuda` cargo feature, which is on by default)"
    )))
}

#[cfg(not(feature = "cuda"))]
fn cuda_available() -> bool {
    false
}
