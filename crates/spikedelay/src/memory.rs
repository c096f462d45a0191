//! Memory budgets: sizes that come from a configuration or a file are estimated before
//! anything that large is allocated, and refused with the fields to reduce when the machine
//! does not have the memory (instead of the allocator aborting the process).
//!
//! What the machine has is `MemAvailable` in `/proc/meminfo` (free memory plus what the kernel
//! can reclaim) on Linux; elsewhere no limit is known and only sizes that overflow the address
//! space are refused. `SPIKEDELAY_MEMORY_LIMIT` (bytes, or with a `K`/`M`/`G` suffix) replaces it,
//! for tests and for sharing a machine.

use crate::error::{Error, Result};

/// Environment variable overriding the available memory.
pub const LIMIT_ENV: &str = "SPIKEDELAY_MEMORY_LIMIT";

/// Bytes the process may still allocate, if known.
pub fn available_bytes() -> Option<f64> {
    if let Ok(v) = std::env::var(LIMIT_ENV) {
        return parse_size(&v);
    }
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

fn parse_size(v: &str) -> Option<f64> {
    let v = v.trim();
    let (num, scale) = match v.chars().last()? {
        'K' | 'k' => (&v[..v.len() - 1], 1024.0),
        'M' | 'm' => (&v[..v.len() - 1], 1024.0 * 1024.0),
        'G' | 'g' => (&v[..v.len() - 1], 1024.0 * 1024.0 * 1024.0),
        _ => (v, 1.0),
    };
    num.trim().parse::<f64>().ok().map(|n| n * scale)
}

/// Bytes as a person reads them (`1.5 GiB`).
pub fn human(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut b = bytes;
    let mut u = 0;
    while b >= 1024.0 && u + 1 < units.len() {
        b /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b:.0} {}", units[0])
    } else if b >= 1e4 {
        format!("{b:.2e} {}", units[u])
    } else {
        format!("{b:.1} {}", units[u])
    }
}

/// An estimate of what something will allocate, in named parts.
#[derive(Debug, Clone, Default)]
pub struct Estimate {
    /// `(what, the fields that size it, bytes)`.
    pub parts: Vec<(String, String, f64)>,
}

impl Estimate {
    /// Adds a part.
    pub fn add(&mut self, what: impl Into<String>, fields: impl Into<String>, bytes: f64) {
        self.parts.push((what.into(), fields.into(), bytes));
    }

    /// The total in bytes.
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|p| p.2).sum()
    }

    /// Refuses when the total exceeds the available memory (or the address space), naming each
    /// part and the fields of the largest.
    pub fn check(&self, what: &str) -> Result<()> {
        let total = self.total();
        let limit = available_bytes()
            .unwrap_or(f64::INFINITY)
            .min(isize::MAX as f64);
        if total.is_finite() && total <= limit {
            return Ok(());
        }
        let parts = self
            .parts
            .iter()
            .map(|(w, f, b)| format!("{w} {} ({f})", human(*b)))
            .collect::<Vec<_>>()
            .join(", ");
        let largest = self
            .parts
            .iter()
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map_or(String::new(), |p| p.1.clone());
        Err(Error::Memory {
            what: format!("{what} ({parts})"),
            needed: human(total),
            available: if limit.is_finite() && limit < isize::MAX as f64 {
                human(limit)
            } else {
                "the address space".into()
            },
            hint: format!("reduce {largest}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("2G"), Some(2.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_size("512"), Some(512.0));
        assert_eq!(parse_size("x"), None);
        assert_eq!(human(1536.0), "1.5 KiB");
        assert_eq!(human(3.0 * 1024.0f64.powi(3)), "3.0 GiB");
    }

    #[test]
    fn an_estimate_beyond_the_address_space_names_the_largest_part() {
        let mut e = Estimate::default();
        e.add("parameters", "model.hidden", 1e30);
        e.add("activations", "train.batch_size", 1e3);
        let err = e.check("training").unwrap_err().to_string();
        assert!(
            err.contains("reduce model.hidden") && err.contains("parameters"),
            "{err}"
        );
        let mut small = Estimate::default();
        small.add("parameters", "model.hidden", 1e3);
        small.check("training").unwrap();
    }
}
