//! The `snnc` tool as a library: command implementations and diagnostic rendering. The only crate
//! that prints.

pub mod render;
