//! What generated code calls on the host: math functions (the same Rust/libm routines the
//! interpreter uses, so results are bit-identical), and the trampoline into [`HostKernel`]s, the
//! ops run as Rust code (convolutions, processes, host functions, stochastic spikes, large node
//! functions).

use super::float::JitFloat;
use snn_compiler::func::Fn2;
use snn_compiler::func::{apply_binary, Fn1};
use std::any::Any;
use std::panic::AssertUnwindSafe;

/// Per-batch-element state of a host kernel.
pub(super) type KernelState = Box<dyn Any + Send>;

/// An op (or part of one) run as Rust code. Kernels address the state block by element offsets
/// fixed at compile time; `mem` is the whole block of one batch element.
pub(super) trait HostKernel<T>: Send + Sync {
    /// The state of batch element `b`; may also write initial values into `mem`.
    fn init(&self, b: usize, mem: &mut [T]) -> Result<KernelState, String>;
    /// One step (`k` counts from 1).
    fn step(&self, state: &mut KernelState, k: u64, mem: &mut [T]) -> Result<(), String>;
    /// Whether generated code calls [`HostKernel::step`] (else the kernel only initialises).
    fn steps(&self) -> bool {
        true
    }
}

/// Fixed context slots: the error cell of the running element and the block length.
pub(super) const SLOT_ERROR: usize = 0;
/// Slot holding the state block's length (elements).
pub(super) const SLOT_LEN: usize = 1;
/// Slots before the first allocated one.
pub(super) const FIXED_SLOTS: usize = 2;

/// Called by generated code: runs the kernel of context slot `slot` on the state in slot
/// `slot + 1`. Errors and panics are recorded in the element's error cell (checked by the driver
/// after each chunk of steps).
///
/// # Safety
/// `ctx` points to the running element's context table (slot 0: `*mut Option<String>`, slot 1:
/// block length, `slot`: `*const Box<dyn HostKernel<T>>` to a live kernel, `slot + 1`:
/// `*mut KernelState`), and `mem` to its state block.
pub(super) unsafe extern "C" fn host_step<T: JitFloat>(
    ctx: *const u64,
    slot: u64,
    k: u64,
    mem: *mut T,
) {
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

extern "C" fn expm1<T: JitFloat>(x: T) -> T {
    x.exp_m1()
}
extern "C" fn log1p<T: JitFloat>(x: T) -> T {
    x.ln_1p()
}
extern "C" fn exp<T: JitFloat>(x: T) -> T {
    x.exp()
}
extern "C" fn tanh<T: JitFloat>(x: T) -> T {
    x.tanh()
}

macro_rules! fn1 {
    ($($name:ident = $f:ident),* $(,)?) => {
        $(extern "C" fn $name(x: f64) -> f64 { Fn1::$f.apply(x) })*
        /// The `f64` functions of node expressions called on the host, by [`Fn1`].
        pub(super) fn fn1_symbol(f: Fn1) -> Option<&'static str> {
            match f {
                $(Fn1::$f => Some(concat!("snn_", stringify!($name))),)*
                _ => None,
            }
        }
        fn fn1_symbols() -> Vec<(&'static str, *const u8)> {
            vec![$((concat!("snn_", stringify!($name)), $name as *const u8)),*]
        }
    };
}

fn1!(
    sin = Sin,
    cos = Cos,
    tan = Tan,
    asin = Asin,
    acos = Acos,
    atan = Atan,
    sinh = Sinh,
    cosh = Cosh,
    tanh64 = Tanh,
    exp64 = Exp,
    log = Log,
    log1p64 = Log1p,
    expm164 = Expm1,
    round = Round,
);

extern "C" fn pow(x: f64, y: f64) -> f64 {
    apply_binary(Fn2::Pow, x, y)
}
extern "C" fn atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}

/// Name of the `T` math routine `name` (`expm1`, `log1p`, `exp`, `tanh`) or of the trampoline.
pub(super) fn typed_symbol<T: JitFloat>(name: &str) -> String {
    format!("snn_{name}_{}", T::SUFFIX)
}

/// Every host symbol generated code may call, with its address.
pub(super) fn symbols<T: JitFloat>() -> Vec<(String, *const u8)> {
    let mut v: Vec<(String, *const u8)> = vec![
        (typed_symbol::<T>("expm1"), expm1::<T> as *const u8),
        (typed_symbol::<T>("log1p"), log1p::<T> as *const u8),
        (typed_symbol::<T>("exp"), exp::<T> as *const u8),
        (typed_symbol::<T>("tanh"), tanh::<T> as *const u8),
        (typed_symbol::<T>("host_step"), host_step::<T> as *const u8),
        ("snn_pow".to_string(), pow as *const u8),
        ("snn_atan2".to_string(), atan2 as *const u8),
    ];
    v.extend(fn1_symbols().into_iter().map(|(n, p)| (n.to_string(), p)));
    v
}

/// `(src, dst)` views of two disjoint ranges of `mem`.
pub(super) fn split<T>(
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
