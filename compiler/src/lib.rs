//! snn-compiler: resolve, check, build (NEF), lower to IR, optimise, run and import.

pub mod nef;
