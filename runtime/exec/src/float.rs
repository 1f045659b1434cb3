//! The float types compiled code computes in (`f32`, `f64`): what the executor needs to know of
//! them beyond [`Real`] (vector lanes for alignment, size, the suffix of host symbol names).

use snn_runtime::Real;

/// A float type of compiled code: [`Real`] plus its layout facts and host symbols.
pub trait Float: Real {
    /// Lanes of a 128-bit vector (regions of the state block start on 16-byte boundaries).
    const LANES: usize;
    /// Bytes per value.
    const SIZE: i64;
    /// Suffix of host symbol names (`f32`, `f64`).
    const SUFFIX: &'static str;
    /// The `T`-typed host symbols generated code may call, with their addresses
    /// ([`crate::symbols`]).
    fn typed_symbols() -> Vec<(&'static str, *const u8)>;
}

impl Float for f64 {
    const LANES: usize = 2;
    const SIZE: i64 = 8;
    const SUFFIX: &'static str = "f64";
    fn typed_symbols() -> Vec<(&'static str, *const u8)> {
        crate::symbols::f64_symbols()
    }
}

impl Float for f32 {
    const LANES: usize = 4;
    const SIZE: i64 = 4;
    const SUFFIX: &'static str = "f32";
    fn typed_symbols() -> Vec<(&'static str, *const u8)> {
        crate::symbols::f32_symbols()
    }
}
