//! The Hankel function H₀⁽¹⁾(z) = J₀(z) + iY₀(z) of a complex argument, as the basilar
//! membrane's transfer function needs it (docs/cochlea.md §2), in three regions:
//!
//! - |z| ≥ [`ASYMPTOTIC_FROM`], Re z > 0: the Hankel asymptotic expansion (DLMF 10.17.5) summed
//!   until its terms fall below 1e-17 of the sum or start to grow; its error is below the first omitted term,
//!   at most about e^(−2|z|) relative (≈ 4e-11 at |z| = 12).
//! - |z| + |Im z| ≤ [`SERIES_UP_TO`]: the ascending series of J₀ and Y₀ (DLMF 10.2.2, 10.8.2);
//!   rounding grows with the largest term (≈ e^{|z|}) and with the cancellation between J₀ and
//!   iY₀ where H₀ is small (≈ e^{|Im z|}), so about 1e-16·e^{15} ≈ 1e-9 relative at the edge.
//! - elsewhere: Amos's algorithm (TOMS 644; the `complex-bessel` crate, as SciPy's `hankel1`).
//!
//! `tests` checks the first two against Amos to 1e-9 relative over the membrane's range.

use num_complex::Complex64;

/// |z| from which the asymptotic expansion is used.
pub const ASYMPTOTIC_FROM: f64 = 12.0;
/// |z| + |Im z| up to which the ascending series is used.
pub const SERIES_UP_TO: f64 = 15.0;
/// Euler's constant γ.
pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// √z on the principal branch by the algebraic formula (no polar form): t = √((|x| + |z|)/2),
/// √z = (t, y/2t) for x ≥ 0, else (|y|/2t, ±t) with the sign of y.
#[inline]
pub fn csqrt(z: Complex64) -> Complex64 {
    let r = (z.re * z.re + z.im * z.im).sqrt();
    if r == 0.0 {
        return Complex64::new(0.0, z.im);
    }
    let t = ((z.re.abs() + r) * 0.5).sqrt();
    if z.re >= 0.0 {
        Complex64::new(t, z.im / (2.0 * t))
    } else {
        Complex64::new(z.im.abs() / (2.0 * t), t.copysign(z.im))
    }
}

/// ln z on the principal branch: ½·ln|z|² + i·arg z.
#[inline]
pub fn cln(z: Complex64) -> Complex64 {
    Complex64::new(0.5 * (z.re * z.re + z.im * z.im).ln(), z.im.atan2(z.re))
}

/// e^z.
#[inline]
pub fn cexp(z: Complex64) -> Complex64 {
    let (s, c) = z.im.sin_cos();
    let m = z.re.exp();
    Complex64::new(m * c, m * s)
}

/// −(2k − 1)²/(8k) for k = 1, 2, …: the ratio of successive aₖ(0) in the asymptotic series.
const ASYMPTOTIC_RATIO: [f64; 48] = {
    let mut r = [0.0; 48];
    let mut k = 1;
    while k <= 48 {
        let odd = (2 * k - 1) as f64;
        r[k - 1] = -odd * odd / (8.0 * k as f64);
        k += 1;
    }
    r
};

/// H₀⁽¹⁾(z) for z ≠ 0.
pub fn hankel0(z: Complex64) -> Complex64 {
    let r = z.norm();
    if z.re > 0.0 && r >= ASYMPTOTIC_FROM {
        hankel0_asymptotic(z)
    } else if r + z.im.abs() <= SERIES_UP_TO && r > 0.0 {
        hankel0_series(z)
    } else {
        hankel0_amos(z)
    }
}

/// J₀(z) + iY₀(z) from the ascending series: with q = −z²/4,
/// J₀ = Σ qᵏ/(k!)², Y₀ = (2/π)[(ln(z/2) + γ)·J₀ − Σ_{k≥1} Hₖ·qᵏ/(k!)²] (Hₖ harmonic numbers).
pub fn hankel0_series(z: Complex64) -> Complex64 {
    let q = -(z * z) * 0.25;
    let mut term = Complex64::new(1.0, 0.0);
    let mut j = term;
    let mut s = Complex64::new(0.0, 0.0);
    let mut harmonic = 0.0;
    for k in 1..200 {
        let kf = k as f64;
        term = term * q / (kf * kf);
        harmonic += 1.0 / kf;
        j += term;
        s += term * harmonic;
        if term.norm_sqr() * harmonic * harmonic < 1e-36 * (j.norm_sqr() + s.norm_sqr()) {
            break;
        }
    }
    let y = std::f64::consts::FRAC_2_PI * ((cln(z * 0.5) + EULER_GAMMA) * j - s);
    j + Complex64::new(0.0, 1.0) * y
}

/// H₀⁽¹⁾(z) by Amos's algorithm; NaN where it reports no finite value (z = 0, overflow).
pub fn hankel0_amos(z: Complex64) -> Complex64 {
    complex_bessel::hankel1(0.0, z).unwrap_or(Complex64::new(f64::NAN, f64::NAN))
}

/// H₀⁽¹⁾(z) ≈ √(2/(πz)) · e^{i(z − π/4)} · Σₖ iᵏ aₖ(0) / zᵏ with
/// aₖ(0) = (−1)ᵏ·1²·3²⋯(2k−1)² / (k! 8ᵏ) (DLMF 10.17.1, 10.17.5).
pub fn hankel0_asymptotic(z: Complex64) -> Complex64 {
    let inv = z.inv();
    let mut term = Complex64::new(1.0, 0.0);
    let mut sum = term;
    let mut size = 1.0;
    for ratio in ASYMPTOTIC_RATIO {
        // term · i·ratio / z
        let t = Complex64::new(-term.im * ratio, term.re * ratio);
        let next = t * inv;
        let next_size = next.norm_sqr();
        // The series diverges: stop at its smallest term.
        if next_size >= size {
            break;
        }
        term = next;
        size = next_size;
        sum += term;
        if size < 1e-34 * sum.norm_sqr() {
            break;
        }
    }
    let phase = Complex64::new(-z.im, z.re - std::f64::consts::FRAC_PI_4);
    csqrt(2.0 / (std::f64::consts::PI * z)) * cexp(phase) * sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_regions_agree_with_amos_over_the_membranes_range() {
        // The membrane's arguments: |z| from 1e-4 to about 80, 0 ≤ arg z < π/2.
        let (mut worst_asym, mut worst_series, mut amos) = (0.0f64, 0.0f64, 0);
        for i in 0..=400 {
            let r = 1e-4 * 10f64.powf(i as f64 / 400.0 * 5.9);
            for j in 0..=60 {
                let z = Complex64::from_polar(r, j as f64 / 60.0 * 1.55);
                let exact = hankel0_amos(z);
                let rel = |v: Complex64| (v - exact).norm() / exact.norm();
                if z.re > 0.0 && r >= ASYMPTOTIC_FROM {
                    worst_asym = worst_asym.max(rel(hankel0_asymptotic(z)));
                } else if r + z.im.abs() <= SERIES_UP_TO {
                    worst_series = worst_series.max(rel(hankel0_series(z)));
                } else {
                    amos += 1;
                }
                assert_eq!(hankel0(z), {
                    if z.re > 0.0 && r >= ASYMPTOTIC_FROM {
                        hankel0_asymptotic(z)
                    } else if r + z.im.abs() <= SERIES_UP_TO {
                        hankel0_series(z)
                    } else {
                        exact
                    }
                });
            }
        }
        assert!(
            worst_asym < 1e-9,
            "asymptotic: worst relative difference {worst_asym:e}"
        );
        assert!(
            worst_series < 1e-9,
            "series: worst relative difference {worst_series:e}"
        );
        assert!(amos < 61 * 401 / 4, "{amos} points left to Amos");
    }

    #[test]
    fn elementary_functions_agree_with_num_complex() {
        for (re, im) in [
            (3.0, 4.0),
            (-3.0, 4.0),
            (-3.0, -4.0),
            (1e-9, -2.0),
            (-5.0, 0.0),
            (2.5, -1e-12),
        ] {
            let z = Complex64::new(re, im);
            for (a, b) in [(csqrt(z), z.sqrt()), (cln(z), z.ln()), (cexp(z), z.exp())] {
                assert!(
                    (a - b).norm() <= 1e-15 * b.norm().max(1.0),
                    "{z}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn amos_matches_known_values() {
        // J0(1) + i Y0(1) (DLMF tables).
        let h = hankel0(Complex64::new(1.0, 0.0));
        assert!((h.re - 0.765_197_686_557_966_6).abs() < 1e-14);
        assert!((h.im - 0.088_256_964_215_676_96).abs() < 1e-14);
        assert!(hankel0(Complex64::new(0.0, 0.0)).re.is_nan());
    }
}
