//! snn-exec: runs compiled step code, wherever it came from — the JIT's memory or a native
//! library built by `snnc build`. It knows no compiler and no code generator: the generated
//! function `run(mem, ctx, k0, k1)` and a [`Plan`] (state-block [`Layout`], host kernels as
//! [`KernelSpec`]s, inputs and probes) are all it needs.
//!
//! - [`kernel`]: the [`HostKernel`] trait, the context-table slots, the trampoline generated code
//!   calls ([`kernel::host_step`]);
//! - [`kernels`]: the host kernels, each the runtime's one function for an op (convolutions,
//!   dense and spike-driven products, processes, host functions, node functions, neuron-state
//!   set-up) on ranges of the state block;
//! - [`symbols`]: the host functions generated code imports by name, exported as C symbols;
//! - [`runner`]: one-shot runs over a batch ([`Runner::run`], `snnc run`);
//! - [`session`]: elements kept between calls, held inputs, accumulated probes (the C ABI).

pub mod float;
pub mod kernel;
pub mod kernels;
pub mod layout;
pub mod plan;
pub mod runner;
pub mod session;
pub mod spec;
pub mod symbols;

pub use float::Float;
pub use kernel::HostKernel;
pub use layout::Layout;
pub use plan::{InputInfo, Plan, ProbeInfo};
pub use runner::{Element, Resume, RunFn, Runner};
pub use session::Session;
pub use spec::KernelSpec;
