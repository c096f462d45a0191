//! Elementary functions of `f64` written without branches or calls, so that a loop calling them
//! is vectorised by LLVM inside a `multiversion!` copy (eight lanes with AVX-512, four with
//! AVX2) where `libm`'s scalar calls would not be. The cochlea's transfer function evaluates
//! them for every channel and frequency bin (docs/cochlea.md §2).
//!
//! The algorithms and coefficients are fdlibm's (`exp`, `ln`) and Cephes's (`atan`, `sin`,
//! `cos`): the same range reductions and minimax polynomials, with each `if` of theirs turned
//! into a select of two computed values. No fused multiply-add is used, so every SIMD level
//! (and the portable copy) rounds identically and the results are the same bits on every x86-64
//! CPU. Accuracy is a few ulp (the tests bound it against the system's libm); the inputs the
//! callers promise are named per function.

// The coefficients are quoted with the digits fdlibm and Cephes publish them with.
#![allow(clippy::excessive_precision)]

/// 1.5·2⁵²: adding it rounds a double below 2⁵¹ in magnitude to an integer and leaves that
/// integer in the low bits of the sum's representation.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;

/// eˣ for finite x; 0 below −708 (where eˣ would be subnormal), and x is capped at 709.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    const P1: f64 = 1.666_666_666_666_660_190_37e-1;
    const P2: f64 = -2.777_777_777_701_559_338_42e-3;
    const P3: f64 = 6.613_756_321_437_934_361_17e-5;
    const P4: f64 = -1.653_390_220_546_525_153_90e-6;
    const P5: f64 = 4.138_136_797_057_238_460_39e-8;
    let xc = x.clamp(-708.0, 709.0);
    // x = k·ln2 + r, |r| ≤ ln2/2.
    let shifted = xc * INV_LN2 + ROUND_MAGIC;
    let k = shifted - ROUND_MAGIC;
    let hi = xc - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // 2ᵏ from k's bits in the low mantissa of `shifted`: k + 1023 in [2, 2046] here.
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    if x < -708.0 { 0.0 } else { y * scale }
}

/// ln x for finite x > 0 (subnormals included).
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    const LG1: f64 = 6.666_666_666_666_735_130e-1;
    const LG2: f64 = 3.999_999_999_940_941_908e-1;
    const LG3: f64 = 2.857_142_874_366_239_149e-1;
    const LG4: f64 = 2.222_219_843_214_978_396e-1;
    const LG5: f64 = 1.818_357_216_161_805_012e-1;
    const LG6: f64 = 1.531_383_769_920_937_332e-1;
    const LG7: f64 = 1.479_819_860_511_658_591e-1;
    const TWO54: f64 = 18_014_398_509_481_984.0;
    let sub = x < f64::MIN_POSITIVE;
    let xs = if sub { x * TWO54 } else { x };
    // x = 2ᵏ·m with m in [√2/2, √2): the exponent is shifted so that the mantissa's top
    // carries into it exactly where m crosses √2.
    let bits = xs
        .to_bits()
        .wrapping_add(0x3ff0_0000_0000_0000 - 0x3fe6_a09e_0000_0000);
    let biased = f64::from_bits(0x4330_0000_0000_0000 | (bits >> 52)) - 4_503_599_627_370_496.0;
    let k = biased - if sub { 1023.0 + 54.0 } else { 1023.0 };
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) + 0x3fe6_a09e_0000_0000);
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// atan2(y, x) in (−π, π] for finite x and y (0 at the origin).
#[inline(always)]
pub fn atan2(y: f64, x: f64) -> f64 {
    const P: [f64; 5] = [
        -8.750_608_600_031_904_122_785e-1,
        -1.615_753_718_733_365_076_637e1,
        -7.500_855_792_314_704_667_340e1,
        -1.228_866_684_490_136_173_410e2,
        -6.485_021_904_942_025_371_773e1,
    ];
    const Q: [f64; 5] = [
        2.485_846_490_142_306_297_962e1,
        1.650_270_098_316_988_542_046e2,
        4.328_810_604_912_902_668_951e2,
        4.853_903_996_359_136_964_868e2,
        1.945_506_571_482_613_964_425e2,
    ];
    /// π/2 and π/4 less their doubles.
    const PIO2_LO: f64 = 6.123_233_995_736_766e-17;
    const PIO4: f64 = std::f64::consts::FRAC_PI_4;
    let (ax, ay) = (x.abs(), y.abs());
    let big = ax.max(ay);
    let small = ax.min(ay);
    // t = small/big, the tangent of the angle to the nearer axis, in [0, 1]; Cephes's second
    // reduction above 0.66: atan t = π/4 + atan(u), u = (t − 1)/(t + 1) = (small − big)/(small + big).
    let upper = small > 0.66 * big;
    let (num_u, den_u) = if upper {
        (small - big, small + big)
    } else {
        (small, big)
    };
    let u = if big > 0.0 { num_u / den_u } else { 0.0 };
    let z = u * u;
    let num = (((P[0] * z + P[1]) * z + P[2]) * z + P[3]) * z + P[4];
    let den = ((((z + Q[0]) * z + Q[1]) * z + Q[2]) * z + Q[3]) * z + Q[4];
    let atan_u = u + u * (z * num / den);
    let near = if upper {
        PIO4 + (atan_u + 0.5 * PIO2_LO)
    } else {
        atan_u
    };
    // Angle from the x axis, then the quadrant.
    let first = if ay > ax {
        (std::f64::consts::FRAC_PI_2 - near) + PIO2_LO
    } else {
        near
    };
    let half = if x < 0.0 {
        (std::f64::consts::PI - first) + 2.0 * PIO2_LO
    } else {
        first
    };
    half.copysign(y)
}

/// (sin x, cos x) for |x| < 2²⁹ (Cody–Waite reduction by π/4 in three parts, exact there).
#[inline(always)]
pub fn sin_cos(x: f64) -> (f64, f64) {
    const SIN: [f64; 6] = [
        1.589_623_015_765_465_680_60e-10,
        -2.505_074_776_285_780_728_66e-8,
        2.755_731_362_138_572_452_13e-6,
        -1.984_126_982_958_953_859_96e-4,
        8.333_333_333_322_118_588_78e-3,
        -1.666_666_666_666_663_072_95e-1,
    ];
    const COS: [f64; 6] = [
        -1.135_853_652_138_768_173_00e-11,
        2.087_570_084_197_473_167_78e-9,
        -2.755_731_417_929_673_881_12e-7,
        2.480_158_728_885_170_453_48e-5,
        -1.388_888_888_887_305_641_16e-3,
        4.166_666_666_666_659_292_18e-2,
    ];
    const DP1: f64 = 7.853_981_256_484_985_351_56e-1;
    const DP2: f64 = 3.774_894_707_930_798_176_68e-8;
    const DP3: f64 = 2.695_151_429_079_059_526_45e-15;
    const FOPI: f64 = 1.273_239_544_735_162_686_15;
    let ax = x.abs();
    // j = ⌊|x|·4/π⌋, rounded up to even: |x| = j·π/4 + z with |z| ≤ π/4.
    let v = ax * FOPI;
    let nearest = (v + ROUND_MAGIC) - ROUND_MAGIC;
    let floor = if nearest > v { nearest - 1.0 } else { nearest };
    let j = ((floor + ROUND_MAGIC).to_bits() & 7) as i64;
    let odd = j & 1;
    let y = if odd == 1 { floor + 1.0 } else { floor };
    let j = (j + odd) & 7;
    let z = ((ax - y * DP1) - y * DP2) - y * DP3;
    let zz = z * z;
    let poly =
        |c: &[f64; 6]| ((((c[0] * zz + c[1]) * zz + c[2]) * zz + c[3]) * zz + c[4]) * zz + c[5];
    let sin_z = z + z * (zz * poly(&SIN));
    let cos_z = 1.0 - 0.5 * zz + zz * zz * poly(&COS);
    // j ∈ {0, 2, 4, 6}: the octant pair; 2 and 6 swap sine and cosine, 4 and 6 negate.
    let swap = j == 2 || j == 6;
    let s = if swap { cos_z } else { sin_z };
    let c = if swap { sin_z } else { cos_z };
    let sin_sign = if j >= 4 { -1.0 } else { 1.0 };
    let cos_sign = if j == 2 || j == 4 { -1.0 } else { 1.0 };
    // sin is odd, cos even.
    (s * sin_sign * 1f64.copysign(x), c * cos_sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units of the last place of `exact` (at least the smallest normal's).
    fn ulps(got: f64, exact: f64) -> f64 {
        let ulp = f64::from_bits(exact.abs().max(f64::MIN_POSITIVE).to_bits() + 1)
            - exact.abs().max(f64::MIN_POSITIVE);
        (got - exact).abs() / ulp
    }

    /// `n` points spread over [lo, hi] by a fixed low-discrepancy sequence.
    fn points(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f64> {
        (0..n).map(move |i| lo + (hi - lo) * ((i as f64 * 0.618_033_988_749_894_8) % 1.0))
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut worst = 0.0f64;
        for x in points(-707.0, 709.0, 200_000).chain(points(-2.0, 2.0, 50_000)) {
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2.0, "worst {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-800.0), 0.0);
        assert!(ulps(exp(1.0), std::f64::consts::E) <= 1.0);
    }

    #[test]
    fn ln_is_within_two_ulp_of_libm() {
        let mut worst = 0.0f64;
        for e in points(-1070.0, 1020.0, 200_000) {
            let x = 2f64.powf(e);
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        for x in points(0.5, 2.0, 100_000) {
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        assert!(worst <= 2.0, "worst {worst} ulp");
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(std::f64::consts::E), 1.0);
    }

    #[test]
    fn atan2_is_within_two_ulp_of_libm_in_every_quadrant() {
        let mut worst = 0.0f64;
        for a in points(-3.2, 3.2, 100_000) {
            for r in [1e-300, 1e-3, 1.0, 7.5, 1e200] {
                let (y, x) = (r * a.sin(), r * a.cos());
                worst = worst.max(ulps(atan2(y, x), y.atan2(x)));
            }
        }
        assert!(worst <= 2.0, "worst {worst} ulp");
        for (y, x) in [
            (0.0, 1.0),
            (0.0, -1.0),
            (1.0, 0.0),
            (-1.0, 0.0),
            (0.0, 0.0),
            (-2.0, -2.0),
        ] {
            assert_eq!(atan2(y, x), f64::atan2(y, x), "atan2({y}, {x})");
        }
    }

    #[test]
    fn sin_cos_is_within_two_ulp_of_libm() {
        let (mut worst_s, mut worst_c) = (0.0f64, 0.0f64);
        for x in points(-2000.0, 2000.0, 300_000).chain(points(-4.0, 4.0, 50_000)) {
            let (s, c) = sin_cos(x);
            // Absolute near zeros of the function: relative error there measures the reduction.
            let (es, ec) = (x.sin(), x.cos());
            worst_s = worst_s.max(ulps(s, es).min((s - es).abs() / f64::EPSILON));
            worst_c = worst_c.max(ulps(c, ec).min((c - ec).abs() / f64::EPSILON));
        }
        assert!(
            worst_s <= 2.0 && worst_c <= 2.0,
            "worst {worst_s}, {worst_c} ulp"
        );
        assert_eq!(sin_cos(0.0), (0.0, 1.0));
        assert_eq!(sin_cos(-0.0).0.to_bits(), (-0.0f64).to_bits());
    }
}
