//! What generated code calls on the host, by name: math functions (the same Rust/libm routines
//! the interpreter uses, so results are bit-identical) and the kernel trampoline. Each is an
//! exported C symbol (`#[no_mangle]`), so a native library links them from this crate; the JIT
//! registers the same functions by address ([`symbols`]).

use crate::float::Float;
use crate::kernel::host_step;
use snn_runtime::expr::{apply_binary, Fn1, Fn2};

macro_rules! typed {
    ($t:ty, $list:ident: $expm1:ident, $log1p:ident, $exp:ident, $tanh:ident, $step:ident) => {
        /// `expm1` of generated code.
        #[no_mangle]
        pub extern "C" fn $expm1(x: $t) -> $t {
            x.exp_m1()
        }
        /// `log1p` of generated code.
        #[no_mangle]
        pub extern "C" fn $log1p(x: $t) -> $t {
            x.ln_1p()
        }
        /// `exp` of generated code.
        #[no_mangle]
        pub extern "C" fn $exp(x: $t) -> $t {
            x.exp()
        }
        /// `tanh` of generated code.
        #[no_mangle]
        pub extern "C" fn $tanh(x: $t) -> $t {
            x.tanh()
        }
        /// The kernel trampoline of generated code ([`host_step`]).
        ///
        /// # Safety
        /// As [`host_step`].
        #[no_mangle]
        pub unsafe extern "C" fn $step(ctx: *const u64, slot: u64, k: u64, mem: *mut $t) {
            // SAFETY: the caller's contract.
            unsafe { host_step::<$t>(ctx, slot, k, mem) }
        }
        pub(crate) fn $list() -> Vec<(&'static str, *const u8)> {
            vec![
                (stringify!($expm1), $expm1 as *const u8),
                (stringify!($log1p), $log1p as *const u8),
                (stringify!($exp), $exp as *const u8),
                (stringify!($tanh), $tanh as *const u8),
                (stringify!($step), $step as *const u8),
            ]
        }
    };
}

typed!(f64, f64_symbols: snn_expm1_f64, snn_log1p_f64, snn_exp_f64, snn_tanh_f64, snn_host_step_f64);
typed!(f32, f32_symbols: snn_expm1_f32, snn_log1p_f32, snn_exp_f32, snn_tanh_f32, snn_host_step_f32);

macro_rules! fn1 {
    ($($name:ident = $f:ident),* $(,)?) => {
        $(
            /// A node-function routine of generated code ([`Fn1::apply`]).
            #[no_mangle]
            pub extern "C" fn $name(x: f64) -> f64 { Fn1::$f.apply(x) }
        )*
        /// The `f64` functions of node expressions called on the host, by [`Fn1`].
        pub fn fn1_symbol(f: Fn1) -> Option<&'static str> {
            match f {
                $(Fn1::$f => Some(stringify!($name)),)*
                _ => None,
            }
        }
        fn fn1_symbols() -> Vec<(&'static str, *const u8)> {
            vec![$((stringify!($name), $name as *const u8)),*]
        }
    };
}

fn1!(
    snn_sin = Sin,
    snn_cos = Cos,
    snn_tan = Tan,
    snn_asin = Asin,
    snn_acos = Acos,
    snn_atan = Atan,
    snn_sinh = Sinh,
    snn_cosh = Cosh,
    snn_tanh64 = Tanh,
    snn_exp64 = Exp,
    snn_log = Log,
    snn_log1p64 = Log1p,
    snn_expm164 = Expm1,
    snn_round = Round,
);

/// `x ^ y` of generated code.
#[no_mangle]
pub extern "C" fn snn_pow(x: f64, y: f64) -> f64 {
    apply_binary(Fn2::Pow, x, y)
}

/// `atan2(y, x)` of generated code.
#[no_mangle]
pub extern "C" fn snn_atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}

/// Name of the `T` math routine `name` (`expm1`, `log1p`, `exp`, `tanh`) or of the trampoline
/// (`host_step`).
pub fn typed_symbol<T: Float>(name: &str) -> String {
    format!("snn_{name}_{}", T::SUFFIX)
}

/// Every host symbol generated code for `T` may call, with its address.
pub fn symbols<T: Float>() -> Vec<(&'static str, *const u8)> {
    let mut v = T::typed_symbols();
    v.push(("snn_pow", snn_pow as *const u8));
    v.push(("snn_atan2", snn_atan2 as *const u8));
    v.extend(fn1_symbols());
    v
}
