//! NEF numerics: distributions, hypersphere sampling, eval points and decoder solvers.
//!
//! A re-implementation of the numerical core of Nengo 3.2's builder (`nengo/dists.py`,
//! `nengo/solvers.py`, `nengo/utils/least_squares_solvers.py`, the decoder parts of
//! `nengo/builder/{ensemble,connection}.py`). Deterministic parts (the R_d quasirandom
//! sequence, the spherical coordinate transform and its `betaincinv` lookup table, the
//! eval-point count rule, the Cholesky least-squares solve) follow Nengo exactly; random
//! draws come from any [`Entropy`] source (a `rand` RNG, or [`PinnedEntropy`] to replay
//! given values) and are not NumPy's streams.

pub mod dists;
pub mod ensemble;
pub mod entropy;
pub mod eval_points;
pub mod mt19937;
pub mod solvers;
pub mod special;

pub use dists::{Dist, SphericalMethod};
pub use ensemble::{
    decoder_targets, encoder_inputs, fold_decoders, normalize_encoders, scaled_encoders,
    solve_decoders, try_decoder_targets, DecodedWeights, TargetFn, Transform, TryTargetFn,
};
pub use entropy::{Entropy, PinnedEntropy};
pub use eval_points::{default_n_eval_points, gen_eval_points};
pub use solvers::{Solver, SolverInfo};

/// Errors raised by the NEF numerics (Nengo raises `BuildError` / `ValidationError` here).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NefError {
    /// A distribution or solver parameter is out of its valid range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Array shapes disagree (e.g. activities and targets have different row counts).
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A matrix or vector contains NaN or infinity.
    #[error("non-finite values in {0}")]
    NonFinite(String),
    /// No eval point falls in the firing range of any neuron (Nengo's BuildError).
    #[error(
        "'activities' matrix is all zero: no evaluation points fall in the firing ranges \
         of any neurons"
    )]
    AllZeroActivities,
    /// The regularised Gram matrix is not positive definite, so Cholesky failed.
    #[error("least-squares system is not positive definite (Cholesky failed); increase `reg`")]
    NotPositiveDefinite,
    /// An encoder row has zero length and cannot be normalised.
    #[error("encoder {0} has zero length and cannot be normalised")]
    ZeroEncoder(usize),
    /// A decoded connection function failed or returned outputs of inconsistent size.
    #[error("connection function: {0}")]
    Function(String),
    /// An iterative numeric method (SVD, Newton) did not converge.
    #[error("did not converge: {0}")]
    Convergence(String),
    /// A [`PinnedEntropy`] was asked for more values than it holds, or not all were used.
    #[error("pinned random values: {0}")]
    Pinned(String),
}
