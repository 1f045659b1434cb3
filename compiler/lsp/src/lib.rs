//! snn-lsp: the `.snn` language server (LSP 3.17 over stdio, `snnc lsp`). Diagnostics come
//! from the compiler's check over the unsaved editor buffers; navigation, completion and
//! symbols from the front-end's per-file scope index (`snn_compiler::resolve::index`).
//! Depends on the syntax and the compiler's front-end only, never on a code generator.

mod analysis;
mod complete;
mod diagnostics;
mod features;
mod server;
mod text;
mod tokens;

pub use server::{capabilities, run_stdio, serve, TargetCheck, Targets, MAX_MESSAGE_BYTES};
