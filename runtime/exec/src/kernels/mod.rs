//! The host kernels: each the runtime's one function for an op, applied to ranges of the state
//! block.

pub mod conv;
pub mod dense;
pub mod events;
pub mod host;
