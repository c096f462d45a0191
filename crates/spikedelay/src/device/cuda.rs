//! The CUDA device (docs/design.md §9) through `cudarc` with dynamic loading: the driver
//! (`libcuda`), cuBLAS and NVRTC are found at run time, so the same binary runs on machines
//! with and without CUDA and builds without a CUDA toolkit. `kernels.cu` is compiled by NVRTC
//! once per process; matrix products are cuBLAS's float32 `sgemm` (no TF32: the handle's
//! default math mode). Everything runs in order on the default stream.

use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::sync::Mutex;

use cudarc::cublas::result as cublas;
use cudarc::cublas::sys::{cublasHandle_t, cublasOperation_t};
use cudarc::driver::result as driver;
use cudarc::driver::sys::{CUcontext, CUfunction, CUmodule};

use super::gpu::{Gemm, Gpu};
use super::software::KERNELS;
use crate::error::{Error, Result};

/// Whether the CUDA driver library can be loaded and reports at least one device.
pub(crate) fn driver_present() -> bool {
    // SAFETY: only tries to load the library.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return false;
    }
    driver::init().is_ok() && driver::device::get_count().is_ok_and(|n| n > 0)
}

fn fail(what: &str, e: impl std::fmt::Debug) -> Error {
    Error::Device(format!("CUDA: {what}: {e:?}"))
}

/// One CUDA device's context, kernels and cuBLAS handle.
pub(crate) struct CudaGpu {
    ctx: CUcontext,
    name: String,
    module: CUmodule,
    functions: Mutex<HashMap<&'static str, CUfunction>>,
    blas: cublasHandle_t,
    /// Freed allocations by size class, reused instead of returned: `cuMemFree` would wait for
    /// the whole device at every buffer a step drops.
    pool: Mutex<Pool>,
}

/// A caching allocator's state: free blocks per size class, the class of every live block,
/// bytes held by live blocks and their peak.
#[derive(Default)]
struct Pool {
    free: HashMap<usize, Vec<u64>>,
    live: HashMap<u64, usize>,
    in_use: usize,
    peak: usize,
}

/// The size class of `bytes`: rounded up to an eighth of its power of two (at most 12.5 % more).
fn size_class(bytes: usize) -> usize {
    let b = bytes.max(256);
    let step = (b.next_power_of_two() / 8).max(1);
    b.div_ceil(step) * step
}

// SAFETY: the handles are used with the context bound to the calling thread (`bind`), and
// every call is serialised by the trainer (one step at a time).
unsafe impl Send for CudaGpu {}
// SAFETY: as above; the function table is behind a mutex.
unsafe impl Sync for CudaGpu {}

impl CudaGpu {
    /// Opens device `n`: loads the driver, cuBLAS and NVRTC, compiles the kernels.
    pub fn open(n: usize) -> Result<Self> {
        let missing = |lib: &str, what: &str| {
            Error::Device(format!(
                "device cuda:{n}: {what} ({lib}) was not found; install the NVIDIA driver and \
                 the CUDA 13 libraries (or put their folder on LD_LIBRARY_PATH), or use the CPU \
                 (device cpu)"
            ))
        };
        // SAFETY: these only try to load the libraries.
        unsafe {
            if !cudarc::driver::sys::is_culib_present() {
                return Err(missing("libcuda.so", "the CUDA driver"));
            }
            if !cudarc::cublas::sys::is_culib_present() {
                return Err(missing("libcublas.so", "cuBLAS"));
            }
            if !cudarc::nvrtc::sys::is_culib_present() {
                return Err(missing("libnvrtc.so", "NVRTC"));
            }
        }
        let fail =
            |what: &str, e: &dyn std::fmt::Debug| fail(&format!("device cuda:{n}: {what}"), e);
        driver::init().map_err(|e| fail("initialising the driver", &e))?;
        let count = driver::device::get_count().map_err(|e| fail("counting devices", &e))?;
        if n >= count as usize {
            return Err(Error::Device(format!(
                "device cuda:{n}: the driver reports {count} device(s)"
            )));
        }
        let dev = driver::device::get(n as i32).map_err(|e| fail("opening the device", &e))?;
        let name = driver::device::get_name(dev).map_err(|e| fail("reading its name", &e))?;
        // SAFETY: `dev` comes from `device::get`.
        let ctx = unsafe { driver::primary_ctx::retain(dev) }
            .map_err(|e| fail("retaining the primary context", &e))?;
        // SAFETY: `ctx` was just retained.
        unsafe { driver::ctx::set_current(ctx) }.map_err(|e| fail("binding the context", &e))?;
        let ptx = cudarc::nvrtc::compile_ptx(KERNELS)
            .map_err(|e| fail("compiling kernels.cu with NVRTC", &e))?;
        let image = CString::new(ptx.to_src()).map_err(|e| fail("reading the PTX", &e))?;
        // SAFETY: a NUL-terminated PTX image from NVRTC.
        let module = unsafe { driver::module::load_data(image.as_ptr().cast()) }
            .map_err(|e| fail("loading the kernels", &e))?;
        let blas = cublas::create_handle().map_err(|e| fail("creating a cuBLAS handle", &e))?;
        Ok(CudaGpu {
            ctx,
            name,
            module,
            functions: Mutex::new(HashMap::new()),
            blas,
            pool: Mutex::new(Pool::default()),
        })
    }

    fn bind(&self) -> Result<()> {
        // SAFETY: the context is retained for this value's life.
        unsafe { driver::ctx::set_current(self.ctx) }.map_err(|e| fail("binding the context", e))
    }

    fn function(&self, name: &'static str) -> Result<CUfunction> {
        let mut table = self.functions.lock().expect("function table");
        if let Some(&f) = table.get(name) {
            return Ok(f);
        }
        let cname = CString::new(name).expect("kernel names have no NUL");
        // SAFETY: the module stays loaded for this value's life.
        let f = unsafe { driver::module::get_function(self.module, cname) }
            .map_err(|e| fail(&format!("finding kernel `{name}`"), e))?;
        table.insert(name, f);
        Ok(f)
    }
}

impl Gpu for CudaGpu {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn alloc(&self, bytes: usize) -> Result<u64> {
        self.bind()?;
        let class = size_class(bytes);
        let mut pool = self.pool.lock().expect("memory pool");
        let ptr = match pool.free.get_mut(&class).and_then(Vec::pop) {
            Some(p) => p,
            // SAFETY: plain allocation, zeroed below.
            None => unsafe { driver::malloc_sync(class) }
                .map_err(|e| fail(&format!("allocating {class} bytes"), e))?,
        };
        pool.live.insert(ptr, class);
        pool.in_use += class;
        pool.peak = pool.peak.max(pool.in_use);
        drop(pool);
        // SAFETY: `ptr` holds `class ≥ bytes` bytes; ordered on the default stream.
        unsafe { driver::memset_d8_sync(ptr, 0, bytes.max(1)) }
            .map_err(|e| fail("zeroing new memory", e))?;
        Ok(ptr)
    }

    fn free(&self, addr: u64) {
        let mut pool = self.pool.lock().expect("memory pool");
        if let Some(class) = pool.live.remove(&addr) {
            pool.in_use -= class;
            pool.free.entry(class).or_default().push(addr);
        }
    }

    fn peak_bytes(&self) -> usize {
        self.pool.lock().expect("memory pool").peak
    }

    fn upload(&self, addr: u64, data: &[u8]) -> Result<()> {
        self.bind()?;
        // SAFETY: `addr` holds at least `data.len()` bytes (`Buf::write`).
        unsafe { driver::memcpy_htod_sync(addr, data) }.map_err(|e| fail("copying to the GPU", e))
    }

    fn download(&self, addr: u64, out: &mut [u8]) -> Result<()> {
        self.bind()?;
        // SAFETY: as in `upload`; the copy waits for the kernels before it on the stream.
        unsafe { driver::memcpy_dtoh_sync(out, addr) }.map_err(|e| {
            fail(
                "copying from the GPU (a kernel before it may have failed)",
                e,
            )
        })
    }

    fn launch(&self, name: &'static str, grid: (u32, u32), block: u32, args: &[u8]) -> Result<()> {
        self.bind()?;
        let f = self.function(name)?;
        let mut params = [args.as_ptr() as *mut c_void];
        // SAFETY: the kernel takes one argument, the struct whose bytes `args` are; its
        // addresses are live allocations of this context.
        unsafe {
            driver::launch_kernel(
                f,
                (grid.0, grid.1, 1),
                (block, 1, 1),
                0,
                std::ptr::null_mut(),
                &mut params,
            )
        }
        .map_err(|e| fail(&format!("launching `{name}`"), e))
    }

    fn gemm(&self, g: &Gemm) -> Result<()> {
        self.bind()?;
        let op = |t: bool| {
            if t {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            }
        };
        // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ.
        // SAFETY: the addresses, leading dimensions and strides describe the device network's
        // own buffers (`network.rs`).
        unsafe {
            cublas::sgemm_strided_batched(
                self.blas,
                op(g.trans_b),
                op(g.trans_a),
                g.n as i32,
                g.m as i32,
                g.k as i32,
                &g.alpha,
                g.b as *const f32,
                g.ldb as i32,
                g.stride_b as i64,
                g.a as *const f32,
                g.lda as i32,
                g.stride_a as i64,
                &g.beta,
                g.c as *mut f32,
                g.ldc as i32,
                g.stride_c as i64,
                g.batch as i32,
            )
        }
        .map_err(|e| fail("cuBLAS sgemm", e))
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::*;
    use super::super::gpu::KernelArgs;

    /// NVRTC needs no GPU: where its library is found (`.ci/run` installs NVIDIA's pip package
    /// for it), the kernels must compile for the GPU as they do for the host.
    #[test]
    fn nvrtc_compiles_the_kernels() {
        // SAFETY: only tries to load the library.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            assert!(
                std::env::var_os("SPIKEDELAY_REQUIRE_NVRTC").is_none(),
                "SPIKEDELAY_REQUIRE_NVRTC is set but libnvrtc.so.13 is not on the library path"
            );
            eprintln!("skipped: NVRTC (libnvrtc.so.13) is not on the library path");
            return;
        }
        let opts = cudarc::nvrtc::CompileOptions {
            arch: Some("compute_90"),
            options: vec!["-Werror=all-warnings".into()],
            ..Default::default()
        };
        let ptx = cudarc::nvrtc::compile_ptx_with_opts(super::KERNELS, opts)
            .unwrap_or_else(|e| panic!("NVRTC rejects kernels.cu: {e:?}"));
        let text = ptx.to_src();
        // Each kernel's one parameter has the size of its Rust argument struct.
        fn size_of_param<A: KernelArgs>(ptx: &str) -> (&'static str, Option<usize>, usize) {
            let head = format!(".entry {}(", A::KERNEL);
            let declared = ptx.find(&head).and_then(|at| {
                let rest = &ptx[at..];
                let open = rest.find('[')?;
                let close = rest[open..].find(']')? + open;
                rest[open + 1..close].parse().ok()
            });
            (A::KERNEL, declared, size_of::<A>())
        }
        for (kernel, declared, ours) in [
            size_of_param::<CopyRowsArgs>(&text),
            size_of_param::<BuildKernelArgs>(&text),
            size_of_param::<KernelGradArgs>(&text),
            size_of_param::<ChannelSumsArgs>(&text),
            size_of_param::<NormStatsArgs>(&text),
            size_of_param::<NormApplyArgs>(&text),
            size_of_param::<NormEvalArgs>(&text),
            size_of_param::<NormGradStatsArgs>(&text),
            size_of_param::<NormBackwardArgs>(&text),
            size_of_param::<LifForwardArgs>(&text),
            size_of_param::<LifBackwardArgs>(&text),
            size_of_param::<ReadoutArgs>(&text),
            size_of_param::<LossArgs>(&text),
            size_of_param::<AdamArgs>(&text),
        ] {
            assert_eq!(
                declared,
                Some(ours),
                "{kernel}: its parameter in the PTX and its Rust argument struct differ in size"
            );
        }
    }
}
