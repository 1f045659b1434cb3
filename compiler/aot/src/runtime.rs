//! The executor as a static library (snn-capi, built by `build.rs`), embedded in snnc.

/// `libsnn_capi.a`: snn-exec and the runtime kernels behind the `snnrt_*` C functions.
pub(crate) static CAPI: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libsnn_capi.a"));
