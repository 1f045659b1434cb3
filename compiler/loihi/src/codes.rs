//! The loihi target's diagnostic codes (`snnc check --target loihi`), one per reason a model
//! cannot be mapped onto Loihi 1 cores; each diagnostic's help says what to change.

/// A neuron type Loihi compartments do not implement.
pub const NEURON_TYPE: &str = "E0901";
/// A synapse that is not a first-order lowpass (alpha, general linear filters, two in series).
pub const SYNAPSE: &str = "E0902";
/// A part of the model that runs off-chip and is not mapped yet (a host value into neurons
/// other than through a convolution, a loop through the host, an ensemble input written other
/// than by connections).
pub const HOST: &str = "E0903";
/// A parameter outside what the chip's integers hold after discretization (time constants,
/// weights, biases, thresholds).
pub const RANGE: &str = "E0904";
/// A population that no split fits onto cores, or more chips than allowed.
pub const CAPACITY: &str = "E0905";
/// A warning: connections into one population with different synapses (Loihi filters a
/// compartment's whole input with one time constant; the largest is used, as nengo-loihi does).
pub const SHARED_FILTER: &str = "W0901";

/// A warning: a connection whose weights lose much to 8-bit quantization.
pub const QUANTIZATION: &str = "W0902";

/// Every code with its meaning.
pub const ALL: &[(&str, &str)] = &[
    (NEURON_TYPE, "a neuron type Loihi compartments do not implement"),
    (SYNAPSE, "a synapse that is not a first-order lowpass"),
    (HOST, "an off-chip part of the model the loihi target does not map yet"),
    (RANGE, "a parameter outside the chip's integer ranges after discretization"),
    (CAPACITY, "a population no split fits onto cores, or too many chips"),
    (SHARED_FILTER, "connections into one population with different synapse time constants"),
    (QUANTIZATION, "a connection whose weights lose much to 8-bit quantization"),
];
