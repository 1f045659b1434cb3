//! The float types the JIT generates code for (`f32`, `f64`): their Cranelift types and how a
//! constant of each is emitted.

use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use snn_exec::Float;

/// A float type with a code generator: [`Float`] (the executor's view) plus its Cranelift
/// scalar and vector types (of `Float::LANES` lanes).
pub trait JitFloat: Float {
    /// Scalar type.
    const TY: Type;
    /// 128-bit vector type.
    const VEC: Type;
    /// Emits `x` as a constant.
    fn emit(b: &mut FunctionBuilder, x: Self) -> Value;
    /// Appends `x`'s little-endian bytes to `out` (constant data of the module).
    fn push_le(x: Self, out: &mut Vec<u8>);
}

impl JitFloat for f64 {
    const TY: Type = types::F64;
    const VEC: Type = types::F64X2;
    fn emit(b: &mut FunctionBuilder, x: Self) -> Value {
        b.ins().f64const(x)
    }
    fn push_le(x: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

impl JitFloat for f32 {
    const TY: Type = types::F32;
    const VEC: Type = types::F32X4;
    fn emit(b: &mut FunctionBuilder, x: Self) -> Value {
        b.ins().f32const(x)
    }
    fn push_le(x: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&x.to_le_bytes());
    }
}
