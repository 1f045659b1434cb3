//! Training `.snn` networks as NengoDL's `Simulator.fit` trains them: gradient descent through
//! time over the step IR ([`engine`]), with the losses of Keras ([`loss`]), Keras's optimisers
//! ([`optim`]), and the parameters NengoDL trains (transforms, biases; [`params`]).
//!
//! Spiking neurons train through their rate equivalents (`SpikingRectifiedLinear` as
//! `RectifiedLinear`, `LIF` as `LIFRate`), as NengoDL trains them; the trained network then runs
//! spiking with `snnc run`. The crate reads no file: the CLI loads data and writes results.

pub mod engine;
pub mod fit;
pub mod loss;
pub mod optim;
pub mod params;
pub mod writeback;

pub use engine::Engine;
pub use fit::{fit, FitConfig, History};
pub use loss::{Loss, LossKind};
pub use optim::{Optimizer, OptimizerKind};
pub use params::{Param, ParamKind, Site};

/// Why training cannot go on; `span` locates the statement at fault when there is one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TrainError {
    /// What went wrong.
    pub message: String,
    /// The statement it concerns, if any.
    pub span: Option<snn_syntax::Span>,
}

impl TrainError {
    /// An error without a place.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), span: None }
    }

    /// An error at `span`.
    pub fn at(message: impl Into<String>, span: snn_syntax::Span) -> Self {
        Self { message: message.into(), span: Some(span) }
    }
}
