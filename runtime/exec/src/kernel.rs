//! Host kernels: the ops (or parts of ops) compiled code runs as Rust code, through one
//! trampoline ([`host_step`]) that finds a kernel and its state in the context table.
//!
//! The context table (`u64` slots) of one batch element: [`SLOT_ERROR`] (its error cell),
//! [`SLOT_LEN`] (the state block's length), [`SLOT_ONCE`] (nonzero: run the hoisted ops before
//! the next step), then the slots a [`crate::Layout`] allocates (per input its data pointer and
//! byte stride, per probe its buffer, per kernel the kernel and its state).

use std::any::Any;
use std::panic::AssertUnwindSafe;

/// Per-batch-element state of a host kernel.
pub type KernelState = Box<dyn Any + Send>;

/// An op (or part of one) run as Rust code. Kernels address the state block by element offsets
/// fixed at compile time; `mem` is the whole block of one batch element.
pub trait HostKernel<T>: Send + Sync {
    /// The state of batch element `b`; may also write initial values into `mem`.
    fn init(&self, b: usize, mem: &mut [T]) -> Result<KernelState, String>;
    /// One step (`k` counts from 1).
    fn step(&self, state: &mut KernelState, k: u64, mem: &mut [T]) -> Result<(), String>;
}

/// Context slot of the running element's error cell (`*mut Option<String>`).
pub const SLOT_ERROR: usize = 0;
/// Context slot holding the state block's length (elements).
pub const SLOT_LEN: usize = 1;
/// Context slot telling generated code to run the hoisted (`once`) ops before its first step.
pub const SLOT_ONCE: usize = 2;
/// Slots before the first allocated one.
pub const FIXED_SLOTS: usize = 3;

/// Called by generated code: runs the kernel of context slot `slot` on the state in slot
/// `slot + 1`. Errors and panics are recorded in the element's error cell (checked by the driver
/// after each chunk of steps).
///
/// # Safety
/// `ctx` points to the running element's context table (slot 0: `*mut Option<String>`, slot 1:
/// block length, `slot`: `*const Box<dyn HostKernel<T>>` to a live kernel, `slot + 1`:
/// `*mut KernelState`), and `mem` to its state block.
pub unsafe fn host_step<T: 'static>(ctx: *const u64, slot: u64, k: u64, mem: *mut T) {
    // SAFETY: the caller's contract (generated code passes what the driver set up).
    let res = std::panic::catch_unwind(AssertUnwindSafe(|| unsafe {
        let slot = slot as usize;
        let kernel = &**(ctx.add(slot).read() as *const Box<dyn HostKernel<T>>);
        let state = &mut *(ctx.add(slot + 1).read() as *mut KernelState);
        let len = ctx.add(SLOT_LEN).read() as usize;
        let mem = std::slice::from_raw_parts_mut(mem, len);
        kernel.step(state, k, mem)
    }));
    let err = match res {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e,
        Err(_) => "a host kernel panicked".to_string(),
    };
    // SAFETY: slot 0 holds the element's error cell, not otherwise borrowed during the call.
    unsafe {
        let cell = &mut *(ctx.add(SLOT_ERROR).read() as *mut Option<String>);
        if cell.is_none() {
            *cell = Some(err);
        }
    }
}

/// `(src, dst)` views of two disjoint ranges of `mem`.
pub fn split<T>(
    mem: &mut [T],
    src: (usize, usize),
    dst: (usize, usize),
) -> Result<(&[T], &mut [T]), String> {
    let (s0, s1) = (src.0, src.0 + src.1);
    let (d0, d1) = (dst.0, dst.0 + dst.1);
    if s1 > mem.len() || d1 > mem.len() || (s0 < d1 && d0 < s1 && src.1 > 0 && dst.1 > 0) {
        return Err("host kernel: bad state block ranges".to_string());
    }
    if src.1 == 0 {
        return Ok((&[], &mut mem[d0..d1]));
    }
    if s0 < d0 {
        let (lo, hi) = mem.split_at_mut(d0);
        Ok((&lo[s0..s1], &mut hi[..dst.1]))
    } else {
        let (lo, hi) = mem.split_at_mut(s0);
        Ok((&hi[..src.1], &mut lo[d0..d1]))
    }
}
