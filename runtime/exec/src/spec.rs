//! What a host kernel is, as data: [`KernelSpec`], written by the code generator, kept in a
//! [`crate::Layout`] (and so in a native library's embedded plan), and made into a running
//! [`HostKernel`] for one float type by [`KernelSpec::instantiate`].

use crate::float::Float;
use crate::kernel::HostKernel;
use crate::kernels::conv::Conv;
use crate::kernels::dense::Rows;
use crate::kernels::events::{Place, SpikeMatrix, Spikes};
use crate::kernels::host::{HostFn, Neurons, NodeFn, Process};
use serde::{Deserialize, Serialize};
use snn_runtime::kernels::conv::ConvSpec;

/// One host kernel with every offset into the state block fixed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum KernelSpec {
    /// `dst += mat @ src` with a large row-major `m x k` matrix, in snnc's dot order.
    Dense {
        /// Row-major values.
        mat: Vec<f64>,
        /// Rows.
        m: usize,
        /// Columns.
        k: usize,
        /// Where the `k` source values are.
        src: Place,
        /// Where the `m` destination values are.
        dst: Place,
    },
    /// A spike-driven product: only the columns of nonzero source elements are added.
    Spikes {
        /// The matrix.
        matrix: SpikeMatrix,
        /// Where the source values are.
        src: Place,
        /// Source length.
        ns: usize,
        /// Where the destination values are.
        dst: Place,
        /// Destination length.
        nd: usize,
        /// The destination is a whole signal (columns are summed in place).
        direct: bool,
    },
    /// A convolution from `x` into `y` (`(offset, len)`).
    Conv {
        /// Geometry and kernel.
        spec: ConvSpec,
        /// Input range.
        x: (usize, usize),
        /// Output range.
        y: (usize, usize),
        /// Spike-driven scatter.
        events: bool,
        /// The output holds zeros when the op runs.
        fresh: bool,
    },
    /// A process writing a signal each step.
    Process(Process),
    /// A host function of a node.
    HostFn(HostFn),
    /// A node function too large to unroll.
    NodeFn(NodeFn),
    /// Neuron-state initialisation (and the stochastic wrappers' spike draws).
    Neurons(Neurons),
}

impl KernelSpec {
    /// Whether generated code calls the kernel each step (else it only initialises).
    pub fn steps(&self) -> bool {
        match self {
            KernelSpec::Neurons(n) => n.spikes.is_some(),
            _ => true,
        }
    }

    /// The kernel computing in `T`; errors when the spec is inconsistent.
    pub fn instantiate<T: Float>(&self) -> Result<Box<dyn HostKernel<T>>, String> {
        Ok(match self {
            KernelSpec::Dense { mat, m, k, src, dst } => {
                Box::new(Rows::<T>::new(mat, *m, *k, src, dst)?)
            }
            KernelSpec::Spikes { matrix, src, ns, dst, nd, direct } => {
                Box::new(Spikes::<T>::new(matrix, src, *ns, dst, *nd, *direct)?)
            }
            KernelSpec::Conv { spec, x, y, events, fresh } => {
                Box::new(Conv::<T>::new(spec, *x, *y, *events, *fresh)?)
            }
            KernelSpec::Process(p) => Box::new(p.clone()),
            KernelSpec::HostFn(h) => Box::new(h.clone()),
            KernelSpec::NodeFn(f) => Box::new(f.clone()),
            KernelSpec::Neurons(n) => Box::new(n.clone()),
        })
    }
}
