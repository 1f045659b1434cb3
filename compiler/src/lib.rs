//! snn-compiler: resolve, check, build (NEF), lower to IR, optimise, run and import.

pub mod backend;
pub mod build;
pub mod func;
pub mod ir;
pub mod lower;
pub mod model;
pub mod nef;
pub mod resolve;
pub mod source_db;
pub mod spec;
pub mod value;

pub use resolve::{check, check_with_seed, Checked};
pub use source_db::{FsDb, SourceDb, TensorSource};
