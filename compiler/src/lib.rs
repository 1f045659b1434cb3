//! snn-compiler: resolve, check, build (NEF), lower to IR, verify and optimise; the reference
//! interpreter and the [`target::Target`] trait every backend implements.

pub mod backend;
pub mod budget;
pub mod build;
pub mod compile;
pub mod func;
pub mod ir;
pub mod lower;
pub mod model;
pub mod nef;
pub mod resolve;
pub mod source_db;
pub mod spec;
pub mod target;
pub mod value;

pub use compile::{compile, lower_model, lower_model_with, CompileConfig};
pub use resolve::{check, check_with_seed, check_within, Checked};
pub use source_db::{SourceDb, TensorSource};
