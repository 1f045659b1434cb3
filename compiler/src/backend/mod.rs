//! Backends that execute a lowered program.

pub mod interp;
