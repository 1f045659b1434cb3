//! NEF numerics: distributions, hypersphere sampling, eval points and decoder solvers.
