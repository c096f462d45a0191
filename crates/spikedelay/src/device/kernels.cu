/* spikedelay's device kernels (docs/design.md §9).
 *
 * One source for two compilers: NVRTC compiles it for the GPU (`__CUDACC__` defined), and the
 * software device compiles it with the host C compiler, prefixed by `sim_prelude.h`, which runs
 * each launch's blocks and threads one after another. So every kernel here is checked against the
 * CPU path in the tests on any machine. The rules that make that sound: no shared memory, no
 * barriers, no warp functions; a thread reads what other threads of the same launch write only
 * through `atomicAdd` on integers (whose result does not depend on the order).
 *
 * Each kernel takes one argument, a struct of plain fields (device addresses as 64-bit
 * integers), the same `#[repr(C)]` struct on the Rust side (`device/args.rs`). Layouts are
 * row-major; a sequence `(B, T, C)` has index `(b·T + t)·C + c` as on the host.
 */

#ifdef __CUDACC__
#define KERNEL(name, Args) extern "C" __global__ void name(Args a)
#define SIM_LAUNCHER(name, Args)
#define DEVICE_FN static __device__ __forceinline__
#define ATOMIC_ADD_U64(p, v) atomicAdd((unsigned long long *)(p), (unsigned long long)(v))
#endif

typedef unsigned long long u64;

#define F32(p) ((float *)(p))
#define F64(p) ((double *)(p))
#define U64P(p) ((u64 *)(p))
#define GLOBAL_INDEX() ((u64)blockIdx.x * blockDim.x + threadIdx.x)

/* Kernel kinds, as `model::KernelKind` (method §4). */
#define KIND_GAUSS 0
#define KIND_TRIANGLE 1
#define KIND_INTEGER 2
#define KIND_LINEAR 3

#define NORM_EPS 1e-7f
#define GAUSS_CUT 60.0f
#define ATAN_ALPHA 5.0f
#define HALF_PI 1.57079632679489662f
#define NEG_HUGE (-3.402823466e+38f)

/* ---- copies -------------------------------------------------------------------------------- */

/* Copies `rows` rows of `channels` per sample from a layout with `src_stride` rows per sample,
 * starting at row `src_offset`, to one with `dst_stride` rows per sample at `dst_offset`. */
typedef struct {
    u64 src, dst;
    u64 samples, rows, channels;
    u64 src_stride, src_offset, dst_stride, dst_offset;
} CopyRowsArgs;

KERNEL(copy_rows, CopyRowsArgs) {
    u64 k = GLOBAL_INDEX();
    u64 per_sample = a.rows * a.channels;
    if (k >= a.samples * per_sample) return;
    u64 b = k / per_sample, r = k % per_sample;
    u64 t = r / a.channels, c = r % a.channels;
    F32(a.dst)[((b * a.dst_stride + a.dst_offset + t) * a.channels) + c] =
        F32(a.src)[((b * a.src_stride + a.src_offset + t) * a.channels) + c];
}
SIM_LAUNCHER(copy_rows, CopyRowsArgs)

/* ---- delay kernels (method §4, §5) --------------------------------------------------------- */

/* `ĝ_n` of one element before normalisation; `s` is the Gaussian's σ or the triangle's width. */
DEVICE_FN float raw_tap(int kind, float n, float c, float s) {
    if (kind == KIND_GAUSS) {
        float u = (n - c) / s;
        float arg = 0.5f * u * u;
        return arg > GAUSS_CUT ? 0.0f : expf(-arg);
    }
    float h = s - fabsf(n - c);
    return h > 0.0f ? h : 0.0f;
}

/* The tap an integer or linear element sits on: `round_half_even(P)` clamped, plus `D//2`. */
DEVICE_FN int integer_tap(float p, int taps) {
    float h = (float)(taps / 2);
    float r = rintf(p);
    r = r < -h ? -h : (r > h ? h : r);
    return (int)(r + h);
}

/* Builds the dense kernel `K[n, i, o]` (tap `n`, delay `D−1−n`) from weights and positions
 * `(c_out, c_in, kc)`: one thread per synapse `(o, i)`, `o` fastest (K's rows are contiguous in `o`). */
typedef struct {
    u64 weight, position, kernel;
    u64 c_in, c_out, kc, taps;
    int kind;
    float width;
} BuildKernelArgs;

KERNEL(build_kernel, BuildKernelArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.c_in * a.c_out) return;
    u64 o = k % a.c_out, i = k / a.c_out; /* consecutive threads: consecutive o, coalesced K */
    int taps = (int)a.taps;
    float half = (float)(taps / 2);
    float *K = F32(a.kernel);
    u64 plane = a.c_in * a.c_out;
    for (int n = 0; n < taps; n++) K[n * plane + i * a.c_out + o] = 0.0f;
    for (u64 e = 0; e < a.kc; e++) {
        u64 j = (o * a.c_in + i) * a.kc + e;
        float w = F32(a.weight)[j], p = F32(a.position)[j];
        if (a.kind == KIND_INTEGER || a.kind == KIND_LINEAR) {
            int n = integer_tap(p, taps);
            float g = a.kind == KIND_LINEAR ? 1.0f : 1.0f / (1.0f + NORM_EPS);
            K[n * plane + i * a.c_out + o] += w * g;
            continue;
        }
        float c = p + half, z = 0.0f;
        for (int n = 0; n < taps; n++) z += raw_tap(a.kind, (float)n, c, a.width);
        z += NORM_EPS;
        for (int n = 0; n < taps; n++)
            K[n * plane + i * a.c_out + o] += w * (raw_tap(a.kind, (float)n, c, a.width) / z);
    }
}
SIM_LAUNCHER(build_kernel, BuildKernelArgs)

DEVICE_FN float sign0(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f); }

/* From the dense-kernel gradient `G[n, i, o]` to `∂L/∂W` and `∂L/∂P` (method §5; the closed
 * forms of `TapShape::position_factor`): one thread per synapse `(o, i)`, gradients written. */
typedef struct {
    u64 weight, position, kernel_grad, weight_grad, position_grad;
    u64 c_in, c_out, kc, taps;
    int kind, learn_positions;
    float width;
} KernelGradArgs;

KERNEL(kernel_grads, KernelGradArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.c_in * a.c_out) return;
    u64 o = k % a.c_out, i = k / a.c_out; /* consecutive threads: consecutive o, coalesced K */
    int taps = (int)a.taps;
    float half = (float)(taps / 2);
    const float *G = F32(a.kernel_grad);
    u64 plane = a.c_in * a.c_out;
    for (u64 e = 0; e < a.kc; e++) {
        u64 j = (o * a.c_in + i) * a.kc + e;
        float w = F32(a.weight)[j], p = F32(a.position)[j];
        float gw = 0.0f, gp = 0.0f;
        if (a.kind == KIND_INTEGER || a.kind == KIND_LINEAR) {
            int n = integer_tap(p, taps);
            float g = a.kind == KIND_LINEAR ? 1.0f : 1.0f / (1.0f + NORM_EPS);
            gw = G[n * plane + i * a.c_out + o] * g;
        } else {
            float c = p + half, z = 0.0f;
            for (int n = 0; n < taps; n++) z += raw_tap(a.kind, (float)n, c, a.width);
            z += NORM_EPS;
            for (int n = 0; n < taps; n++)
                gw += G[n * plane + i * a.c_out + o] * (raw_tap(a.kind, (float)n, c, a.width) / z);
            if (a.learn_positions && a.kind == KIND_GAUSS) {
                float mean = 0.0f, sum = 0.0f;
                for (int m = 0; m < taps; m++)
                    mean += (raw_tap(a.kind, (float)m, c, a.width) / z) * ((float)m - c);
                for (int n = 0; n < taps; n++) {
                    float gh = raw_tap(a.kind, (float)n, c, a.width) / z;
                    sum += G[n * plane + i * a.c_out + o] * gh * (((float)n - c) - mean);
                }
                gp = w * (sum / (a.width * a.width));
            } else if (a.learn_positions) {
                float delta_sum = 0.0f, sum = 0.0f;
                for (int n = 0; n < taps; n++)
                    if (a.width - fabsf((float)n - c) > 0.0f) delta_sum += sign0((float)n - c);
                for (int n = 0; n < taps; n++) {
                    float dn = (float)n - c;
                    float delta = a.width - fabsf(dn) > 0.0f ? sign0(dn) : 0.0f;
                    float gh = raw_tap(a.kind, (float)n, c, a.width) / z;
                    sum += G[n * plane + i * a.c_out + o] * (delta - gh * delta_sum);
                }
                gp = w * (sum / z);
            }
        }
        F32(a.weight_grad)[j] = gw;
        F32(a.position_grad)[j] = gp;
    }
}
SIM_LAUNCHER(kernel_grads, KernelGradArgs)

/* ---- BatchNorm over time × batch (method §9) ----------------------------------------------- */

/* Per channel and chunk of rows: Σu and Σu·v (in double), `u = x`, `v = y` (forward: y = x).
 * Grid: x over channels, y over `chunks` chunks of the `rows` rows. */
typedef struct {
    u64 x, y, partial;
    u64 rows, channels, chunks;
} ChannelSumsArgs;

KERNEL(channel_sums, ChannelSumsArgs) {
    u64 c = GLOBAL_INDEX();
    u64 chunk = blockIdx.y;
    if (c >= a.channels) return;
    u64 per = (a.rows + a.chunks - 1) / a.chunks;
    u64 lo = chunk * per, hi = lo + per < a.rows ? lo + per : a.rows;
    double s = 0.0, q = 0.0;
    for (u64 r = lo; r < hi; r++) {
        double u = (double)F32(a.x)[r * a.channels + c];
        double v = (double)F32(a.y)[r * a.channels + c];
        s += u;
        q += u * v;
    }
    F64(a.partial)[chunk * 2 * a.channels + c] = s;
    F64(a.partial)[chunk * 2 * a.channels + a.channels + c] = q;
}
SIM_LAUNCHER(channel_sums, ChannelSumsArgs)

/* Forward statistics: mean, 1/√(var+ε), the folded scale and shift, running statistics. */
typedef struct {
    u64 partial, gamma, beta, running_mean, running_var, mean, inv_std, alpha, shift;
    u64 channels, chunks;
    double n;
    float eps, momentum;
} NormStatsArgs;

KERNEL(norm_stats, NormStatsArgs) {
    u64 c = GLOBAL_INDEX();
    if (c >= a.channels) return;
    double s = 0.0, q = 0.0;
    for (u64 k = 0; k < a.chunks; k++) {
        s += F64(a.partial)[k * 2 * a.channels + c];
        q += F64(a.partial)[k * 2 * a.channels + a.channels + c];
    }
    double mean = s / a.n;
    double var = q / a.n - mean * mean;
    if (var < 0.0) var = 0.0;
    float mean32 = (float)mean;
    float inv_std = 1.0f / sqrtf((float)var + a.eps);
    double unbiased = a.n > 1.0 ? var * a.n / (a.n - 1.0) : var;
    float m = a.momentum;
    F32(a.running_mean)[c] = (1.0f - m) * F32(a.running_mean)[c] + m * mean32;
    F32(a.running_var)[c] = (1.0f - m) * F32(a.running_var)[c] + m * (float)unbiased;
    float alpha = inv_std * F32(a.gamma)[c];
    F32(a.mean)[c] = mean32;
    F32(a.inv_std)[c] = inv_std;
    F32(a.alpha)[c] = alpha;
    F32(a.shift)[c] = F32(a.beta)[c] - mean32 * alpha;
}
SIM_LAUNCHER(norm_stats, NormStatsArgs)

/* `z = a·α + shift` and `x̂ = (a − mean)·inv_std`, elementwise. */
typedef struct {
    u64 a, z, xhat, mean, inv_std, alpha, shift;
    u64 len, channels;
} NormApplyArgs;

KERNEL(norm_apply, NormApplyArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.len) return;
    u64 c = k % a.channels;
    float v = F32(a.a)[k];
    F32(a.z)[k] = v * F32(a.alpha)[c] + F32(a.shift)[c];
    F32(a.xhat)[k] = (v - F32(a.mean)[c]) * F32(a.inv_std)[c];
}
SIM_LAUNCHER(norm_apply, NormApplyArgs)

/* Evaluation: `z = a·α + shift` with `α = γ/√(running var + ε)`, `shift = β − running mean·α`
 * (`TimeBatchNorm::folded`), elementwise. */
typedef struct {
    u64 a, z, gamma, beta, running_mean, running_var;
    u64 len, channels;
    float eps;
} NormEvalArgs;

KERNEL(norm_eval, NormEvalArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.len) return;
    u64 c = k % a.channels;
    float alpha = F32(a.gamma)[c] / sqrtf(F32(a.running_var)[c] + a.eps);
    float shift = F32(a.beta)[c] - F32(a.running_mean)[c] * alpha;
    F32(a.z)[k] = F32(a.a)[k] * alpha + shift;
}
SIM_LAUNCHER(norm_eval, NormEvalArgs)

/* Backward totals: `∂L/∂γ = Σ g·x̂`, `∂L/∂β = Σ g` and the two means of the input gradient. */
typedef struct {
    u64 partial, gamma_grad, beta_grad, mean_g, mean_gx;
    u64 channels, chunks;
    double n;
} NormGradStatsArgs;

KERNEL(norm_grad_stats, NormGradStatsArgs) {
    u64 c = GLOBAL_INDEX();
    if (c >= a.channels) return;
    double s = 0.0, q = 0.0;
    for (u64 k = 0; k < a.chunks; k++) {
        s += F64(a.partial)[k * 2 * a.channels + c];
        q += F64(a.partial)[k * 2 * a.channels + a.channels + c];
    }
    F32(a.gamma_grad)[c] = (float)q;
    F32(a.beta_grad)[c] = (float)s;
    F32(a.mean_g)[c] = (float)(s / a.n);
    F32(a.mean_gx)[c] = (float)(q / a.n);
}
SIM_LAUNCHER(norm_grad_stats, NormGradStatsArgs)

/* `∂L/∂a = γ·inv_std·(g − mean_g − x̂·mean_gx)`. */
typedef struct {
    u64 g, xhat, out, gamma, inv_std, mean_g, mean_gx;
    u64 len, channels;
} NormBackwardArgs;

KERNEL(norm_backward, NormBackwardArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.len) return;
    u64 c = k % a.channels;
    float scale = F32(a.gamma)[c] * F32(a.inv_std)[c];
    F32(a.out)[k] =
        scale * (F32(a.g)[k] - F32(a.mean_g)[c] - F32(a.xhat)[k] * F32(a.mean_gx)[c]);
}
SIM_LAUNCHER(norm_backward, NormBackwardArgs)

/* ---- LIF with the ATan surrogate, dropout (method §10, §11) -------------------------------- */

/* One thread per sample and neuron over all steps: `h = v·decay + z` (training charge; with
 * `eval`, the evaluation charge `v − v/τ + z`), a spike
 * where `h ≥ θ`, hard reset; writes `h`, the spikes times the dropout mask, and adds the spikes
 * (before dropout) to `count`. */
typedef struct {
    u64 z, h, out, mask, count;
    u64 samples, steps, channels;
    float decay, threshold, tau;
    int eval; /* evaluation charge `h = v − v/τ + z` (method §15) */
} LifForwardArgs;

KERNEL(lif_forward, LifForwardArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.samples * a.channels) return;
    u64 b = k / a.channels, c = k % a.channels;
    float keep = F32(a.mask)[k], v = 0.0f;
    u64 fired = 0;
    for (u64 t = 0; t < a.steps; t++) {
        u64 at = (b * a.steps + t) * a.channels + c;
        float h = a.eval ? v - v / a.tau + F32(a.z)[at] : v * a.decay + F32(a.z)[at];
        int fire = h - a.threshold >= 0.0f;
        F32(a.h)[at] = h;
        F32(a.out)[at] = fire ? keep : 0.0f;
        fired += (u64)fire;
        v = fire ? 0.0f : h;
    }
    if (fired) ATOMIC_ADD_U64(U64P(a.count), fired);
}
SIM_LAUNCHER(lif_forward, LifForwardArgs)

/* Backward through dropout and the LIF: `∂h = g·mask·σ'(h−θ) + carry·[h < θ]`, `carry = ∂h·decay`,
 * with `σ'(x) = (α/2)/(1 + (π/2·α·x)²)`. */
typedef struct {
    u64 g, h, mask, out;
    u64 samples, steps, channels;
    float decay, threshold;
} LifBackwardArgs;

KERNEL(lif_backward, LifBackwardArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.samples * a.channels) return;
    u64 b = k / a.channels, c = k % a.channels;
    float keep = F32(a.mask)[k], carry = 0.0f;
    for (u64 t = a.steps; t-- > 0;) {
        u64 at = (b * a.steps + t) * a.channels + c;
        float x = F32(a.h)[at] - a.threshold;
        float u = HALF_PI * ATAN_ALPHA * x;
        float surrogate = (ATAN_ALPHA / 2.0f) / (1.0f + u * u);
        float gh = (F32(a.g)[at] * keep) * surrogate + carry * (x >= 0.0f ? 0.0f : 1.0f);
        F32(a.out)[at] = gh;
        carry = gh * a.decay;
    }
}
SIM_LAUNCHER(lif_backward, LifBackwardArgs)

/* ---- readout and the Σ_t softmax loss (method §12, §13) ------------------------------------ */

/* The non-spiking readout `v = v·decay + a` (training charge), in place over all steps. */
typedef struct {
    u64 v;
    u64 samples, steps, channels;
    float decay, tau;
    int backward, eval; /* `eval`: the evaluation charge `v − v/τ + a` */
} ReadoutArgs;

KERNEL(readout, ReadoutArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.samples * a.channels) return;
    u64 b = k / a.channels, c = k % a.channels;
    float carry = 0.0f;
    for (u64 s = 0; s < a.steps; s++) {
        u64 t = a.backward ? a.steps - 1 - s : s;
        u64 at = (b * a.steps + t) * a.channels + c;
        float v = a.backward ? F32(a.v)[at] + carry
                  : a.eval   ? carry - carry / a.tau + F32(a.v)[at]
                             : carry * a.decay + F32(a.v)[at];
        F32(a.v)[at] = v;
        carry = a.backward ? v * a.decay : v;
    }
}
SIM_LAUNCHER(readout, ReadoutArgs)

#define MAX_CLASSES 256

DEVICE_FN void softmax_row(const float *x, float *out, u64 c) {
    float max = NEG_HUGE, z = 0.0f;
    for (u64 j = 0; j < c; j++) max = x[j] > max ? x[j] : max;
    for (u64 j = 0; j < c; j++) {
        out[j] = expf(x[j] - max);
        z += out[j];
    }
    for (u64 j = 0; j < c; j++) out[j] /= z;
}

/* One thread per sample: `m = Σ_t softmax(V_t)`, loss `logsumexp(m) − m_y`, the prediction
 * `argmax m`, and `∂L/∂V` (the batch mean's) written over `V`'s place in `grad`. */
typedef struct {
    u64 v, labels, grad, losses, predictions;
    u64 samples, steps, classes;
    float inv_batch;
} LossArgs;

KERNEL(sum_softmax_loss, LossArgs) {
    u64 b = GLOBAL_INDEX();
    if (b >= a.samples) return;
    u64 c = a.classes;
    const float *vb = F32(a.v) + b * a.steps * c;
    float *gb = F32(a.grad) + b * a.steps * c;
    float m[MAX_CLASSES], q[MAX_CLASSES], gm[MAX_CLASSES], phi[MAX_CLASSES];
    for (u64 j = 0; j < c; j++) m[j] = 0.0f;
    for (u64 t = 0; t < a.steps; t++) {
        softmax_row(vb + t * c, phi, c);
        for (u64 j = 0; j < c; j++) m[j] += phi[j];
    }
    softmax_row(m, q, c);
    float max = NEG_HUGE;
    u64 pred = 0;
    for (u64 j = 0; j < c; j++)
        if (m[j] > max) {
            max = m[j];
            pred = j;
        }
    double z = 0.0;
    for (u64 j = 0; j < c; j++) z += exp((double)(m[j] - max));
    u64 y = (u64)F32(a.labels)[b];
    F64(a.losses)[b] = (double)max + log(z) - (double)m[y];
    F32(a.predictions)[b] = (float)pred;
    for (u64 j = 0; j < c; j++) gm[j] = (q[j] - (j == y ? 1.0f : 0.0f)) * a.inv_batch;
    for (u64 t = 0; t < a.steps; t++) {
        softmax_row(vb + t * c, phi, c);
        float dot = 0.0f;
        for (u64 j = 0; j < c; j++) dot += phi[j] * gm[j];
        for (u64 j = 0; j < c; j++) gb[t * c + j] = phi[j] * (gm[j] - dot);
    }
}
SIM_LAUNCHER(sum_softmax_loss, LossArgs)

/* ---- Adam with coupled weight decay, the position clamp (method §14) ----------------------- */

typedef struct {
    u64 param, grad, m, v;
    u64 len;
    float step_size, beta1, beta2, bc2_sqrt, eps, weight_decay;
    float clamp; /* positions: |P| ≤ clamp; negative: no clamp */
} AdamArgs;

KERNEL(adam, AdamArgs) {
    u64 k = GLOBAL_INDEX();
    if (k >= a.len) return;
    float w = F32(a.param)[k], g = F32(a.grad)[k];
    if (a.weight_decay != 0.0f) g = g + a.weight_decay * w;
    float m = F32(a.m)[k], v = F32(a.v)[k];
    m += (1.0f - a.beta1) * (g - m);
    v = v * a.beta2 + (1.0f - a.beta2) * g * g;
    float denom = sqrtf(v) / a.bc2_sqrt + a.eps;
    w -= a.step_size * m / denom;
    if (a.clamp >= 0.0f) w = w < -a.clamp ? -a.clamp : (w > a.clamp ? a.clamp : w);
    F32(a.m)[k] = m;
    F32(a.v)[k] = v;
    F32(a.param)[k] = w;
}
SIM_LAUNCHER(adam, AdamArgs)
