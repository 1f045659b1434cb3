//! The floating-point network of blocks, as nengo-loihi 1.1 builds it before discretizing
//! (`nengo_loihi/block.py`): one [`Block`] of compartments per neuron population, sharing a
//! synaptic filter and a neuron model; one [`Synapse`] per connection into a block, fed by the
//! spikes of a source block.

use snn_syntax::Span;

/// The neuron models a Loihi compartment implements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Model {
    /// `nengo.LIF` (`Compartment.configure_lif`): leaky voltage, refractory period.
    Lif {
        /// Membrane time constant (s).
        tau_rc: f64,
        /// Refractory period (s).
        tau_ref: f64,
        /// Voltage floor.
        min_voltage: f64,
    },
    /// `nengo.SpikingRectifiedLinear` (`configure_relu`): a non-leaky integrator, threshold
    /// `1/dt`.
    Relu,
    /// Decode neurons (`DecodeNeurons.get_block`: `configure_relu` with its default
    /// threshold 1).
    DecodeRelu,
    /// A decoded probe's compartments (`configure_nonspiking`, threshold
    /// `vth_nonspiking` = 10): the voltage follows the input, and is what is read.
    NonSpiking,
}

/// A population of compartments: a neuron layer, an ensemble, or a piece of one after
/// splitting.
#[derive(Clone, Debug)]
pub struct Block {
    /// The population's name in the model (`a`, `net.ens`); pieces add `[i]`.
    pub name: String,
    /// Where the population is declared.
    pub origin: Span,
    /// Number of compartments.
    pub n: usize,
    /// The neuron model.
    pub model: Model,
    /// Spike height in the model (`amplitude / dt`): what a spike probe reports.
    pub amplitude: f64,
    /// Synaptic time constant of the compartments' input (s; 0: none). One per block on Loihi:
    /// the largest of the connections' time constants, as nengo-loihi's `configure_filter`.
    pub tau_s: f64,
    /// Whether a connection set `tau_s` (else nengo-loihi's default `decode_tau`, 5 ms).
    pub tau_set: bool,
    /// Per-compartment bias (float32, as nengo-loihi stores it).
    pub bias: Vec<f32>,
    /// Incoming synapses.
    pub synapses: Vec<Synapse>,
    /// For a piece of a split population: the population's index (`Net::populations`) and
    /// this piece's first compartment in it.
    pub population: usize,
    /// First compartment of the piece within its population.
    pub offset: usize,
    /// The population's compartments this block holds, in block order (a spatial tile of a
    /// convolution's output is not one range).
    pub members: Vec<usize>,
}

impl Block {
    /// Per compartment of the population, its index in this block (`None`: elsewhere).
    pub fn local_map(&self, population_n: usize) -> Vec<Option<u32>> {
        let mut m = vec![None; population_n];
        for (j, &c) in self.members.iter().enumerate() {
            if let Some(x) = m.get_mut(c) {
                *x = Some(j as u32);
            }
        }
        m
    }
}

/// Weights from one source block into one target block (one connection).
#[derive(Clone, Debug)]
pub struct Synapse {
    /// The connection's name (`conn0`), for reports.
    pub name: String,
    /// Where the connection is declared.
    pub origin: Span,
    /// Index of the source population in [`Net::populations`].
    pub source: usize,
    /// Per compartment of the source population: its input axon (`None`: it does not
    /// project here).
    pub axon_of: Vec<Option<usize>>,
    /// Per input axon: the target compartments and their float32 weights (nengo-loihi's
    /// `loihi_weights`: transform · gain · amplitude / dt). Dense connections list every target.
    pub axons: Vec<Vec<(u32, f32)>>,
    /// Whether the weights came from a dense matrix (every entry stored, zeros included).
    pub dense: bool,
    /// For a convolution: the source's layout, so the synapse uses population axons (one
    /// axon per source pixel, the channel as its atom, weight arrays shared between pixels),
    /// as nengo-loihi's `conv2d_loihi_weights`.
    pub pop: Option<PopLayout>,
    /// Another source driving the synapse memory of an earlier synapse of this block with
    /// the same weights (nengo-loihi's shared `decode_neuron_encoders` / `node_encoders`
    /// synapse of an ensemble): its axons and memory are counted once, on that one.
    pub alias: bool,
}

/// How a convolution's source compartments group into pixels (population axons) and
/// channels (atoms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PopLayout {
    /// Channels per pixel.
    pub channels: usize,
    /// Pixels (spatial positions).
    pub pixels: usize,
    /// Channels are the fastest axis.
    pub channels_last: bool,
    /// The convolution's output `[rows, cols, filters]` when channels are last (for tiles).
    pub out: Option<[usize; 3]>,
}

impl PopLayout {
    /// The pixel (population axon) and channel (atom) of source compartment `c`.
    pub fn pixel_atom(&self, c: usize) -> (usize, usize) {
        if self.channels_last {
            (c / self.channels, c % self.channels)
        } else {
            (c % self.pixels, c / self.pixels)
        }
    }
}

impl Synapse {
    /// The largest absolute weight (`Synapse.max_abs_weight`); `-inf` when there is none.
    pub fn max_abs_weight(&self) -> f32 {
        let mut m = f32::NEG_INFINITY;
        for a in &self.axons {
            for &(_, w) in a {
                m = m.max(w.abs());
            }
        }
        m
    }

    /// The largest target index (`max_ind`), -1 when empty.
    pub fn max_index(&self) -> i64 {
        self.axons.iter().flatten().map(|&(i, _)| i as i64).max().unwrap_or(-1)
    }
}

/// A probe of the chip: which population's compartments, what quantity.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The output array's name.
    pub name: String,
    /// The probed population (index into [`Net::populations`]).
    pub population: usize,
    /// Which compartments of it, in output order.
    pub select: Vec<usize>,
    /// What is read.
    pub key: ProbeKey,
    /// Keep one sample every this many steps.
    pub every: usize,
    /// Shape of one sample.
    pub shape: Vec<usize>,
}

/// What a probe reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ProbeKey {
    /// Spikes, as the population's spike height (amplitude / dt) where one occurred.
    Spikes,
    /// The compartment voltage, the integer as nengo-loihi's emulator reports it.
    Voltage,
    /// Spikes (as [`ProbeKey::Spikes`]) summed from the first step (a rate monitor).
    SpikeSum,
    /// An ensemble's decoded value: the voltages of a non-spiking decode block (on, off),
    /// `(v_on − v_off) · radius / v_scale`, then the probe's synapse in float on the host
    /// (nengo-loihi's `conn_probe`).
    Decoded {
        /// The probed ensemble's radius.
        radius: f64,
        /// The probe's lowpass time constant (0: none).
        tau: f64,
    },
}

/// A population before splitting: its name and blocks.
#[derive(Clone, Debug)]
pub struct Population {
    /// Name in the model.
    pub name: String,
    /// Where it is declared.
    pub origin: Span,
    /// Number of neurons.
    pub n: usize,
    /// Its blocks (one unless split), in compartment order; none for a population that
    /// runs on the host.
    pub blocks: Vec<usize>,
    /// Runs on the host (its spikes reach the chip through spike inputs), as nengo-loihi runs
    /// an ensemble configured `on_chip=False`.
    pub host: bool,
    /// Its spike signal in the program (what the host reads or writes); [`NO_SIGNAL`] for
    /// the decode-neuron blocks the mapping adds.
    pub out: snn_compiler::ir::SignalId,
}

/// The spike signal of a population the program does not have (decode neurons).
pub const NO_SIGNAL: snn_compiler::ir::SignalId = snn_compiler::ir::SignalId(u32::MAX);

/// nengo-loihi's on/off input neurons for a host value driving a chip ensemble
/// (`build_host_to_chip`, `OnOffDecodeNeurons(is_input=True).get_ensemble`): a spiking ReLU
/// population of `2 · dims` neurons on the host, encoders `[I; −I]`, gain and bias
/// `0.5 / dt`, reading the connection's filtered value divided by the ensemble's radius.
#[derive(Clone, Debug)]
pub struct HostEncoder {
    /// The on/off population (in [`Net::populations`], runs on the host).
    pub population: usize,
    /// The connection's filtered value in the program.
    pub value: SignalId,
    /// The program op (a `Copy` of `value` into the ensemble's input) it replaces on the host.
    pub op: usize,
    /// Dimensions of the value.
    pub dims: usize,
    /// The target ensemble's radius.
    pub radius: f64,
    /// For a host value into neurons: the on/off neurons encode `value` (selected) through
    /// this synapse (the connection's), added after op `op`, which stays.
    pub source: Option<(snn_compiler::ir::Sel, Option<snn_runtime::synapse::DiscreteFilter>)>,
}

/// A decoded connection from a chip ensemble to the host (nengo-loihi's
/// `build_chip_to_host`): a non-spiking block on the chip (as a decoded probe's, through the
/// connection's function and transform) whose value `(v_on − v_off) · radius / v_scale` the
/// host receives in place of the connection's product.
#[derive(Clone, Debug)]
pub struct ChipValue {
    /// The block's population (in [`Net::populations`]).
    pub population: usize,
    /// The program's `DotInc` of the decoders (replaced by the received value on the host).
    pub op: usize,
    /// The `Reset` of the connection's product signal (dropped on the host).
    pub reset: usize,
    /// The connection's product signal.
    pub dst: SignalId,
    /// The pre ensemble's radius.
    pub radius: f64,
}

use snn_compiler::ir::SignalId;

/// The whole on-chip network.
#[derive(Clone, Debug)]
pub struct Net {
    /// Time step (s).
    pub dt: f64,
    /// The blocks, in model order.
    pub blocks: Vec<Block>,
    /// The populations the blocks come from.
    pub populations: Vec<Population>,
    /// The probes read from the chip, in declaration order.
    pub probes: Vec<Probe>,
    /// Per probe of the program, in order: `Some(i)`, read from the chip (`probes[i]`), or
    /// `None`, computed on the host.
    pub probe_place: Vec<Option<usize>>,
    /// Warnings of the mapping (located).
    pub warnings: Vec<snn_syntax::Diagnostic>,
    /// The on/off input populations the host adds, in population order.
    pub host_encoders: Vec<HostEncoder>,
    /// Decoded connections from the chip to the host.
    pub chip_values: Vec<ChipValue>,
}
