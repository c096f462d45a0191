//! The software device (docs/design.md §9): `kernels.cu` compiled by the host C compiler with
//! `sim_prelude.h`, loaded as a shared library, and host memory for device memory. Every launch
//! runs its threads one after another, so what it computes is what the GPU's kernels compute up
//! to float rounding of the math library; the tests compare it with the CPU path on every
//! machine. It is slow and meant for tests, not training.

use std::collections::HashMap;
use std::ffi::c_void;
use std::path::PathBuf;
use std::sync::Mutex;

use sha2::Digest;

use super::gpu::{Gemm, Gpu};
use crate::error::{Error, Result};

/// The kernels' source, as NVRTC compiles it.
pub(crate) const KERNELS: &str = include_str!("kernels.cu");
const PRELUDE: &str = include_str!("sim_prelude.h");

#[repr(C)]
#[derive(Clone, Copy)]
struct Dim3 {
    x: u32,
    y: u32,
    z: u32,
}

type Launcher = unsafe extern "C" fn(Dim3, Dim3, *const c_void);

/// Host memory standing in for device memory, and the compiled kernels.
pub(crate) struct SoftwareGpu {
    library: libloading::Library,
    launchers: Mutex<HashMap<&'static str, Launcher>>,
    /// Allocations by address (`u64` words keep doubles aligned), bytes held and their peak.
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    blocks: HashMap<u64, Vec<u64>>,
    in_use: usize,
    peak: usize,
}

fn device_error(what: impl Into<String>) -> Error {
    Error::Device(what.into())
}

impl SoftwareGpu {
    /// Builds the kernels with the C compiler (`$CC`, else `cc`) into the temporary folder,
    /// once per source (the file name holds its hash), and loads them.
    pub fn new() -> Result<Self> {
        let source = format!("{PRELUDE}\n{KERNELS}");
        let hash = sha2::Sha256::digest(source.as_bytes());
        let tag: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir();
        let lib = dir.join(format!("spikedelay-software-device-{tag}.so"));
        if !lib.exists() {
            compile(&source, &dir, &lib)?;
        }
        // SAFETY: the library is our kernels, built above from our own source; loading runs no
        // initialisers beyond the C runtime's.
        let library = unsafe { libloading::Library::new(&lib) }.map_err(|e| {
            device_error(format!(
                "cannot load the software device {}: {e}",
                lib.display()
            ))
        })?;
        Ok(SoftwareGpu {
            library,
            launchers: Mutex::new(HashMap::new()),
            memory: Mutex::new(Memory::default()),
        })
    }

    fn launcher(&self, name: &'static str) -> Result<Launcher> {
        let mut cache = self.launchers.lock().expect("launcher table");
        if let Some(&f) = cache.get(name) {
            return Ok(f);
        }
        let symbol = format!("sim_{name}\0");
        // SAFETY: every `sim_*` symbol is a `SIM_LAUNCHER` with this signature.
        let f: Launcher = unsafe {
            *self
                .library
                .get::<Launcher>(symbol.as_bytes())
                .map_err(|e| device_error(format!("kernel `{name}` not in kernels.cu: {e}")))?
        };
        cache.insert(name, f);
        Ok(f)
    }
}

fn compile(source: &str, dir: &std::path::Path, lib: &std::path::Path) -> Result<()> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let src: PathBuf = dir.join(format!(
        "spikedelay-software-device-{}.c",
        std::process::id()
    ));
    std::fs::write(&src, source).map_err(|source| Error::Io {
        action: "writing",
        path: src.clone(),
        source,
    })?;
    let partial = lib.with_extension(format!("so.{}.partial", std::process::id()));
    let out = std::process::Command::new(&cc)
        .args([
            "-x",
            "c",
            "-std=c11",
            "-O2",
            "-shared",
            "-fPIC",
            "-fno-fast-math",
        ])
        .arg("-ffp-contract=off")
        .arg(&src)
        .arg("-o")
        .arg(&partial)
        .arg("-lm")
        .output();
    let _ = std::fs::remove_file(&src);
    let out = out.map_err(|e| {
        device_error(format!(
            "the software device needs a C compiler (`{cc}`, set CC to choose another): {e}"
        ))
    })?;
    if !out.status.success() {
        return Err(device_error(format!(
            "`{cc}` failed on kernels.cu:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    std::fs::rename(&partial, lib).map_err(|source| Error::Io {
        action: "renaming into place",
        path: lib.to_path_buf(),
        source,
    })
}

impl Gpu for SoftwareGpu {
    fn name(&self) -> String {
        "software device (kernels.cu on the host)".into()
    }

    fn alloc(&self, bytes: usize) -> Result<u64> {
        let words = vec![0u64; bytes.div_ceil(8).max(1)];
        let addr = words.as_ptr() as u64;
        let mut memory = self.memory.lock().expect("memory");
        memory.in_use += 8 * words.len();
        memory.peak = memory.peak.max(memory.in_use);
        memory.blocks.insert(addr, words);
        Ok(addr)
    }

    fn free(&self, addr: u64) {
        let mut memory = self.memory.lock().expect("memory");
        if let Some(words) = memory.blocks.remove(&addr) {
            memory.in_use -= 8 * words.len();
        }
    }

    fn peak_bytes(&self) -> usize {
        self.memory.lock().expect("memory").peak
    }

    fn upload(&self, addr: u64, data: &[u8]) -> Result<()> {
        // SAFETY: `addr` is inside an allocation of ours at least `data.len()` long (`Buf`).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) };
        Ok(())
    }

    fn download(&self, addr: u64, out: &mut [u8]) -> Result<()> {
        // SAFETY: as in `upload`.
        unsafe { std::ptr::copy_nonoverlapping(addr as *const u8, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    fn launch(&self, name: &'static str, grid: (u32, u32), block: u32, args: &[u8]) -> Result<()> {
        let f = self.launcher(name)?;
        let (grid, block) = (
            Dim3 {
                x: grid.0,
                y: grid.1,
                z: 1,
            },
            Dim3 {
                x: block,
                y: 1,
                z: 1,
            },
        );
        // SAFETY: `args` is the kernel's own argument struct (`KernelArgs`), its addresses are
        // live allocations of this device.
        unsafe { f(grid, block, args.as_ptr().cast()) };
        Ok(())
    }

    fn gemm(&self, g: &Gemm) -> Result<()> {
        // SAFETY: the addresses and extents are the device network's own buffers.
        unsafe { host_gemm(g) };
        Ok(())
    }
}

/// [`Gemm`] on the host by the `gemm` crate on strided views, one product per batch entry.
///
/// # Safety
/// The addresses, leading dimensions and strides must describe live host allocations, and no
/// output may overlap an input of the same product.
unsafe fn host_gemm(g: &Gemm) {
    if g.m == 0 || g.n == 0 {
        return;
    }
    // Row and column strides of op(X) for a row-major X with leading dimension `ld`.
    let strides = |trans: bool, ld: usize| {
        if trans {
            (1isize, ld as isize)
        } else {
            (ld as isize, 1isize)
        }
    };
    let (a_rs, a_cs) = strides(g.trans_a, g.lda);
    let (b_rs, b_cs) = strides(g.trans_b, g.ldb);
    let parallelism = match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    };
    for p in 0..g.batch {
        let a = (g.a as *const f32).wrapping_add(p * g.stride_a);
        let b = (g.b as *const f32).wrapping_add(p * g.stride_b);
        let c = (g.c as *mut f32).wrapping_add(p * g.stride_c);
        // SAFETY: forwarded from the caller. The crate computes dst = α·dst + β·lhs·rhs, so
        // cuBLAS's β is its α and cuBLAS's α its β.
        unsafe {
            gemm::gemm(
                g.m,
                g.n,
                g.k,
                c,
                1,
                g.ldc as isize,
                g.beta != 0.0,
                a,
                a_cs,
                a_rs,
                b,
                b_cs,
                b_rs,
                g.beta,
                g.alpha,
                false,
                false,
                false,
                parallelism,
            )
        };
    }
}
