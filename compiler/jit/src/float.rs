//! The float types the JIT generates code for (`f32`, `f64`): their Cranelift types and how a
//! constant of each is emitted.

use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use snn_compiler::backend::interp::Real;

/// A float type with a code generator: [`Real`] plus its Cranelift scalar and vector types.
pub trait JitFloat: Real {
    /// Scalar type.
    const TY: Type;
    /// 128-bit vector type.
    const VEC: Type;
    /// Lanes of [`JitFloat::VEC`].
    const LANES: usize;
    /// Bytes per value.
    const SIZE: i64;
    /// Suffix of host symbol names (`f32`, `f64`).
    const SUFFIX: &'static str;
    /// Emits `x` as a constant.
    fn emit(b: &mut FunctionBuilder, x: Self) -> Value;
    /// Appends `x`'s little-endian bytes to `out` (constant data of the module).
    fn push_le(x: Self, out: &mut Vec<u8>);
    /// The bits of `x` without its sign: zero exactly when `x == 0` (`+0` or `-0`).
    fn magnitude_bits(x: Self) -> u64;
    /// `y[r] = row r of mat · x` in `unrolled_dot`'s order with the CPU's vectors, when it has
    /// the ones this type's kernel needs (`false`: nothing done).
    fn dot_rows_simd(mat: &[Self], k: usize, x: &[Self], y: &mut [Self]) -> bool;
}

impl JitFloat for f64 {
    const TY: Type = types::F64;
    const VEC: Type = types::F64X2;
    const LANES: usize = 2;
    const SIZE: i64 = 8;
    const SUFFIX: &'static str = "f64";
    fn emit(b: &mut FunctionBuilder, x: Self) -> Value {
        b.ins().f64const(x)
    }
    fn push_le(x: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&x.to_le_bytes());
    }
    fn magnitude_bits(x: Self) -> u64 {
        x.to_bits() << 1
    }
    fn dot_rows_simd(mat: &[Self], k: usize, x: &[Self], y: &mut [Self]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && x.len() == k
            && mat.len() == k * y.len()
        {
            // SAFETY: the CPU has AVX-512F; the lengths are as the kernel requires.
            unsafe { super::dense::rows_f64_avx512(mat, k, x, y) };
            return true;
        }
        false
    }
}

impl JitFloat for f32 {
    const TY: Type = types::F32;
    const VEC: Type = types::F32X4;
    const LANES: usize = 4;
    const SIZE: i64 = 4;
    const SUFFIX: &'static str = "f32";
    fn emit(b: &mut FunctionBuilder, x: Self) -> Value {
        b.ins().f32const(x)
    }
    fn push_le(x: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&x.to_le_bytes());
    }
    fn magnitude_bits(x: Self) -> u64 {
        u64::from(x.to_bits() << 1)
    }
    fn dot_rows_simd(mat: &[Self], k: usize, x: &[Self], y: &mut [Self]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") && x.len() == k && mat.len() == k * y.len() {
            // SAFETY: the CPU has AVX; the lengths are as the kernel requires.
            unsafe { super::dense::rows_f32_avx(mat, k, x, y) };
            return true;
        }
        false
    }
}
