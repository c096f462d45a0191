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
        driver::init().map_err(|e| fail("initialising the driver", e))?;
        let count = driver::device::get_count().map_err(|e| fail("counting devices", e))?;
        if n >= count as usize {
            return Err(Error::Device(format!(
                "device cuda:{n}: the driver reports {count} device(s)"
            )));
        }
        let dev = driver::device::get(n as i32).map_err(|e| fail("opening the device", e))?;
        let name = driver::device::get_name(dev).map_err(|e| fail("reading its name", e))?;
        // SAFETY: `dev` comes from `device::get`.
        let ctx = unsafe { driver::primary_ctx::retain(dev) }
            .map_err(|e| fail("retaining the primary context", e))?;
        // SAFETY: `ctx` was just retained.
        unsafe { driver::ctx::set_current(ctx) }.map_err(|e| fail("binding the context", e))?;
        let ptx = cudarc::nvrtc::compile_ptx(KERNELS)
            .map_err(|e| fail("compiling kernels.cu with NVRTC", e))?;
        let image = CString::new(ptx.to_src()).map_err(|e| fail("reading the PTX", e))?;
        // SAFETY: a NUL-terminated PTX image from NVRTC.
        let module = unsafe { driver::module::load_data(image.as_ptr().cast()) }
            .map_err(|e| fail("loading the kernels", e))?;
        let blas = cublas::create_handle().map_err(|e| fail("creating a cuBLAS handle", e))?;
        Ok(CudaGpu {
            ctx,
            name,
            module,
            functions: Mutex::new(HashMap::new()),
            blas,
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
        // SAFETY: plain allocation, zeroed right after.
        let ptr = unsafe { driver::malloc_sync(bytes.max(1)) }
            .map_err(|e| fail(&format!("allocating {bytes} bytes"), e))?;
        // SAFETY: `ptr` holds `bytes` bytes.
        unsafe { driver::memset_d8_sync(ptr, 0, bytes.max(1)) }
            .map_err(|e| fail("zeroing new memory", e))?;
        Ok(ptr)
    }

    fn free(&self, addr: u64) {
        if self.bind().is_ok() {
            // SAFETY: `addr` came from `alloc` and is freed once (`Buf`'s drop).
            let _ = unsafe { driver::free_sync(addr) };
        }
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
