//! snn-runtime: neuron and synapse kernels, processes and array I/O; depends on nothing else in snnc.
#![forbid(unsafe_code)]
