//! Large buffers kept across training steps instead of mapped and zeroed afresh each step.
//!
//! A training step of the spectral path allocates the same spectra every step, tens of MB
//! each (SHD's second layer: 256 × 256 × 73 bins × 8 bytes = 38 MB). glibc serves allocations
//! above its mmap threshold (at most 32 MiB) with fresh mappings, so without this every step
//! page-faults and zeroes them again (BENCHMARKS.md, "CPU: spectra storage kept across
//! steps"). A freed buffer waits here for the next request it fits; its old values are still
//! in it, so callers write every element before reading ([`Uninit`]).
//!
//! The store is bounded ([`MAX_BUFFERS`], [`MAX_BYTES`]); past that the oldest buffer is
//! freed. It holds only what a step freed and the next step asks for again.

use std::mem::MaybeUninit;
use std::sync::Mutex;

/// At most this many buffers wait in each store.
pub const MAX_BUFFERS: usize = 16;
/// At most this many bytes wait in each store.
pub const MAX_BYTES: usize = 256 << 20;

/// Buffers of one element type waiting for reuse, oldest first.
pub struct Store<T> {
    waiting: Mutex<Vec<Vec<T>>>,
}

/// `len` elements whose values are unspecified until written: filled through
/// [`Uninit::slots`], then turned into a `Vec<T>` by [`Uninit::assume_filled`].
pub struct Uninit<T> {
    buf: Vec<MaybeUninit<T>>,
}

impl<T: Copy> Store<T> {
    /// An empty store.
    pub const fn new() -> Self {
        Store {
            waiting: Mutex::new(Vec::new()),
        }
    }

    /// A buffer of `len` elements: the smallest waiting one that holds `len` without wasting
    /// more than half its room, else a new one.
    pub fn take(&self, len: usize) -> Uninit<T> {
        let reused = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            waiting
                .iter()
                .enumerate()
                .filter(|(_, v)| (len..=2 * len).contains(&v.capacity()))
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i)
                .map(|i| waiting.remove(i))
        };
        Uninit {
            buf: match reused {
                Some(v) => {
                    let mut v = std::mem::ManuallyDrop::new(v);
                    let (ptr, cap) = (v.as_mut_ptr(), v.capacity());
                    // Safety: `MaybeUninit<T>` has `T`'s layout and needs no initialisation;
                    // the allocation moves over whole and holds `len ≤ cap` elements.
                    unsafe { Vec::from_raw_parts(ptr.cast::<MaybeUninit<T>>(), len, cap) }
                }
                None => Uninit::new(len).buf,
            },
        }
    }

    /// Keeps `v` for a later [`Store::take`] of its length (freeing the oldest past the bounds).
    pub fn give(&self, v: Vec<T>) {
        let bytes = |v: &Vec<T>| v.capacity() * std::mem::size_of::<T>();
        if v.is_empty() || bytes(&v) > MAX_BYTES {
            return;
        }
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.push(v);
        while waiting.len() > MAX_BUFFERS || waiting.iter().map(bytes).sum::<usize>() > MAX_BYTES {
            waiting.remove(0);
        }
    }

    /// How many buffers wait (for tests).
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.waiting.lock().unwrap().len()
    }
}

impl<T: Copy> Default for Store<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Uninit<T> {
    /// A new buffer of `len` elements.
    pub fn new(len: usize) -> Self {
        let mut buf = Vec::with_capacity(len);
        // Safety: `MaybeUninit` needs no initialisation; the capacity is `len`.
        unsafe { buf.set_len(len) };
        Uninit { buf }
    }

    /// The elements to write.
    pub fn slots(&mut self) -> &mut [MaybeUninit<T>] {
        &mut self.buf
    }

    /// The buffer as values.
    ///
    /// # Safety
    /// Every element must have been written through [`Uninit::slots`] (or be a value from
    /// the buffer's earlier use, for a type where any bits are a valid value).
    pub unsafe fn assume_filled(self) -> Vec<T> {
        let mut v = std::mem::ManuallyDrop::new(self.buf);
        let (ptr, len, cap) = (v.as_mut_ptr(), v.len(), v.capacity());
        // Safety: all `len` elements are initialised (the caller's promise); `T` and
        // `MaybeUninit<T>` share a layout.
        unsafe { Vec::from_raw_parts(ptr.cast::<T>(), len, cap) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(store: &Store<u64>, len: usize, value: u64) -> Vec<u64> {
        let mut u = store.take(len);
        u.slots().iter_mut().for_each(|s| {
            s.write(value);
        });
        // Safety: every slot was written above.
        unsafe { u.assume_filled() }
    }

    #[test]
    fn a_given_buffer_comes_back_for_lengths_it_holds_without_waste() {
        let store = Store::new();
        let v = filled(&store, 1000, 7);
        let ptr = v.as_ptr();
        store.give(v);
        assert_eq!(store.waiting(), 1);
        for (len, reason) in [(1001, "too long"), (499, "wastes more than half")] {
            let other = filled(&store, len, 1);
            assert_ne!(other.as_ptr(), ptr, "{reason}");
            assert_eq!(store.waiting(), 1);
        }
        let again = filled(&store, 600, 3);
        assert_eq!(again.as_ptr(), ptr, "the waiting buffer is reused");
        assert_eq!(store.waiting(), 0);
        assert_eq!(again.len(), 600);
        assert!(again.iter().all(|&x| x == 3));
        store.give(again);
        // The smallest that fits is chosen.
        store.give(vec![0; 800]);
        let small = store.take(700);
        assert_eq!(store.waiting(), 1);
        // Safety: u64 is valid for any bits, and these were written when given.
        let small = unsafe { small.assume_filled() };
        assert_eq!(small.capacity(), 800);
    }

    #[test]
    fn the_store_frees_the_oldest_past_its_bounds() {
        let store = Store::new();
        for len in 1..=MAX_BUFFERS + 3 {
            store.give(vec![0u64; len]);
        }
        assert_eq!(store.waiting(), MAX_BUFFERS);
        // The oldest (lengths 1..=3) were freed: a request for length 1 is new.
        let fresh = store.take(1);
        assert_eq!(store.waiting(), MAX_BUFFERS);
        drop(fresh);
        let kept = store.take(MAX_BUFFERS + 3);
        assert_eq!(store.waiting(), MAX_BUFFERS - 1);
        drop(kept);
        // Empty buffers and buffers larger than the byte bound are never kept (the large
        // one is calloc'd: its pages are never touched).
        store.give(Vec::new());
        store.give(vec![0u64; MAX_BYTES / 8 + 1]);
        assert_eq!(store.waiting(), MAX_BUFFERS - 1);
    }
}
