//! The reference backend, `interp`; other targets implement [`crate::target::Target`] in their
//! own crates (the Cranelift JIT in `snn-jit`).

pub mod interp;
