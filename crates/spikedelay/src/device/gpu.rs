//! The seam between the device network and an accelerator (docs/design.md §9): memory, the
//! kernels of `kernels.cu` launched by name with one `#[repr(C)]` argument struct, and one
//! row-major strided batched matrix product. Two implementations: CUDA (`cuda.rs`, loaded at
//! run time) and the software device (`software.rs`, the same kernel source built by the host C
//! compiler), which the tests run everywhere.

use std::sync::Arc;

use crate::error::Result;

/// An accelerator: what the device network needs of it, no more.
pub(crate) trait Gpu: Send + Sync {
    /// The device's name (recorded in provenance).
    fn name(&self) -> String;
    /// `bytes` of zeroed device memory; its address.
    fn alloc(&self, bytes: usize) -> Result<u64>;
    /// Releases an allocation made by [`Gpu::alloc`].
    fn free(&self, addr: u64);
    /// The most device memory the allocations held at once, in bytes.
    fn peak_bytes(&self) -> usize;
    /// Copies `data` to device address `addr`.
    fn upload(&self, addr: u64, data: &[u8]) -> Result<()>;
    /// Copies `out.len()` bytes from device address `addr` into `out` (waits for the device).
    fn download(&self, addr: u64, out: &mut [u8]) -> Result<()>;
    /// Runs kernel `name` over `grid` blocks of `block` threads with `args`, the bytes of its
    /// argument struct.
    fn launch(&self, name: &'static str, grid: (u32, u32), block: u32, args: &[u8]) -> Result<()>;
    /// One [`Gemm`].
    fn gemm(&self, g: &Gemm) -> Result<()>;
}

/// `C_p = α·op(A_p)·op(B_p) + β·C_p` for `p < batch`, every matrix row-major float32: `op(A)`
/// is `m × k` (stored `k × m` when `trans_a`), `op(B)` is `k × n`, `C` is `m × n`; leading
/// dimensions and batch strides in elements, addresses in bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gemm {
    pub trans_a: bool,
    pub trans_b: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub a: u64,
    pub lda: usize,
    pub stride_a: usize,
    pub b: u64,
    pub ldb: usize,
    pub stride_b: usize,
    pub beta: f32,
    pub c: u64,
    pub ldc: usize,
    pub stride_c: usize,
    pub batch: usize,
}

/// A device allocation of `len` elements of `T`, freed when dropped.
pub(crate) struct Buf<T> {
    addr: u64,
    len: usize,
    gpu: Arc<dyn Gpu>,
    _t: std::marker::PhantomData<T>,
}

impl<T: Copy + Default> Buf<T> {
    /// `len` zeroed elements.
    pub fn zeros(gpu: &Arc<dyn Gpu>, len: usize) -> Result<Self> {
        let addr = gpu.alloc(len.max(1) * size_of::<T>())?;
        Ok(Buf {
            addr,
            len,
            gpu: gpu.clone(),
            _t: std::marker::PhantomData,
        })
    }

    /// A copy of `data` on the device.
    pub fn from_host(gpu: &Arc<dyn Gpu>, data: &[T]) -> Result<Self> {
        let buf = Self::zeros(gpu, data.len())?;
        buf.write(data)?;
        Ok(buf)
    }

    /// Overwrites the first `data.len()` elements.
    pub fn write(&self, data: &[T]) -> Result<()> {
        assert!(data.len() <= self.len, "upload larger than its buffer");
        // SAFETY: `T` is a plain number type; the bytes are read only.
        let bytes = unsafe {
            std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data))
        };
        self.gpu.upload(self.addr, bytes)
    }

    /// The whole buffer on the host.
    pub fn read(&self) -> Result<Vec<T>> {
        let mut out = vec![T::default(); self.len];
        // SAFETY: as in `write`; every bit pattern is a valid `T` for the number types used.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                out.as_mut_ptr().cast::<u8>(),
                std::mem::size_of_val(out.as_slice()),
            )
        };
        self.gpu.download(self.addr, bytes)?;
        Ok(out)
    }

    /// The device address of element `at`.
    pub fn at(&self, at: usize) -> u64 {
        debug_assert!(at <= self.len);
        self.addr + (at * size_of::<T>()) as u64
    }

    /// The device address of the first element.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Elements.
    pub fn len(&self) -> usize {
        self.len
    }
}

impl<T> Drop for Buf<T> {
    fn drop(&mut self) {
        self.gpu.free(self.addr);
    }
}

/// The bytes of a kernel's argument struct.
pub(crate) fn arg_bytes<A: KernelArgs>(args: &A) -> &[u8] {
    // SAFETY: argument structs are `#[repr(C)]` plain data (`KernelArgs`); read only.
    unsafe { std::slice::from_raw_parts((args as *const A).cast::<u8>(), size_of::<A>()) }
}

/// Marks the `#[repr(C)]` argument structs of `kernels.cu` (`args.rs`).
///
/// # Safety
/// Implementors are `#[repr(C)]`, hold only numbers, and match their C declaration field for
/// field.
pub(crate) unsafe trait KernelArgs: Copy {
    /// The kernel's name in `kernels.cu`.
    const KERNEL: &'static str;
}

/// Threads per block of the one-dimensional launches.
pub(crate) const BLOCK: u32 = 256;

/// Launches kernel `A::KERNEL` over `threads` threads (one-dimensional).
pub(crate) fn launch<A: KernelArgs>(gpu: &dyn Gpu, threads: usize, args: A) -> Result<()> {
    let blocks = threads.div_ceil(BLOCK as usize).max(1) as u32;
    gpu.launch(A::KERNEL, (blocks, 1), BLOCK, arg_bytes(&args))
}

/// Launches kernel `A::KERNEL` over `threads × rows` threads (`rows` blocks in y).
pub(crate) fn launch_2d<A: KernelArgs>(
    gpu: &dyn Gpu,
    threads: usize,
    rows: usize,
    args: A,
) -> Result<()> {
    let blocks = threads.div_ceil(BLOCK as usize).max(1) as u32;
    gpu.launch(A::KERNEL, (blocks, rows as u32), BLOCK, arg_bytes(&args))
}
