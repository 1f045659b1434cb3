//! The core configuration `snnc build --target loihi` writes (`NAME.loihi.json`, schema in
//! docs/LOIHI.md), the per-core resource usage against Loihi 1's limits, and the `--report`.

use crate::chip::Chip;
use crate::discretize::{SHIFT_BITS, VTH_EXP, WEIGHT_BITS};
use serde::Serialize;

/// The schema version of the file; bumped whenever a field changes meaning.
pub const SCHEMA_VERSION: u32 = 3;
/// Compartments per core (`block.py` `MAX_COMPARTMENTS`).
pub const MAX_COMPARTMENTS: usize = 1024;
/// Input axons per core.
pub const MAX_IN_AXONS: usize = 4096;
/// Output axon slots per core.
pub const MAX_OUT_AXONS: usize = 4096;
/// Synapse memory bits per core (16,384 words of 64 bits).
pub const MAX_SYNAPSE_BITS: usize = 16384 * 64;
/// Neuron cores per chip.
pub const CORES_PER_CHIP: usize = 128;
/// Weights per synapse block (`n_synapses = 63`, plus one).
const SYNAPSES_PER_BLOCK: usize = 64;

/// What one core uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Compartments.
    pub compartments: usize,
    /// Input axons (one per source compartment of each incoming connection).
    pub in_axons: usize,
    /// Output axon slots (one per compartment per outgoing connection).
    pub out_axons: usize,
    /// Synapse memory bits.
    pub synapse_bits: usize,
}

/// `SynapseConfig.bits_per_axon` for nengo-loihi's format (8-bit weights, no delay or tag
/// bits, compression 3: no index bits): blocks of 64 weights with a 10-bit header, rounded up
/// to 64-bit words.
pub fn bits_per_axon(n_weights: usize) -> usize {
    bits_per_axon_indexed(n_weights, 0)
}

/// `SynapseConfig.bits_per_axon` with `index_bits` per weight (compression 0, population
/// axons).
pub fn bits_per_axon_indexed(n_weights: usize, index_bits: usize) -> usize {
    let mut bits = 0;
    let mut i = 0;
    while i < n_weights {
        let n = (n_weights - i).min(SYNAPSES_PER_BLOCK);
        let b = n * (WEIGHT_BITS as usize + index_bits) + 4 + 6;
        bits += b.div_ceil(64) * 64;
        i += SYNAPSES_PER_BLOCK;
    }
    bits
}

/// The resources block `b` of `chip` uses on its core.
pub fn usage(chip: &Chip, b: usize) -> Usage {
    let block = &chip.net.blocks[b];
    let (mut in_axons, mut synapse_bits) = (0, 0);
    for s in &block.synapses {
        let all: Vec<Option<u32>> = (0..block.n as u32).map(Some).collect();
        let (a, b) = crate::split::synapse_cost(s, &all);
        in_axons += a;
        synapse_bits += b;
    }
    // per outgoing synapse, the distinct axons this block's compartments drive
    // (`split_axon`: `np.unique(new_axon_idxs[new_axon_idxs >= 0]).size`)
    let out_axons = chip
        .net
        .blocks
        .iter()
        .flat_map(|t| &t.synapses)
        .filter(|s| s.source == block.population)
        .map(|s| {
            // population axons: one per source pixel
            let mut ids: Vec<usize> = block
                .members
                .iter()
                .filter_map(|&c| {
                    let a = s.axon_of.get(c).copied().flatten()?;
                    Some(s.pop.map_or(a, |l| l.pixel_atom(c).0))
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        })
        .sum();
    Usage { compartments: block.n, in_axons, out_axons, synapse_bits }
}

/// The file.
#[derive(Serialize)]
pub struct Config {
    /// `"snnc-loihi-cores"`.
    pub format: &'static str,
    /// [`SCHEMA_VERSION`].
    pub version: u32,
    /// The model file it was built from.
    pub source: String,
    /// Time step (s).
    pub dt: f64,
    /// Chips used.
    pub chips: usize,
    /// The per-core limits mapped against.
    pub limits: Limits,
    /// One entry per core.
    pub cores: Vec<Core>,
    /// What runs off-chip.
    pub host: Host,
}

/// The limits of a Loihi 1 core.
#[derive(Serialize)]
pub struct Limits {
    /// Compartments per core.
    pub compartments: usize,
    /// Input axons per core.
    pub in_axons: usize,
    /// Output axon slots per core.
    pub out_axons: usize,
    /// Synapse memory bits per core.
    pub synapse_bits: usize,
    /// Cores per chip.
    pub cores_per_chip: usize,
}

/// One neuron core.
#[derive(Serialize)]
pub struct Core {
    /// Chip index.
    pub chip: usize,
    /// Core index on the chip.
    pub core: usize,
    /// The population (and piece) it holds.
    pub block: String,
    /// First compartment of the population held here.
    pub population_offset: usize,
    /// Compartment profiles (`cxProfileCfg`).
    pub compartment_profiles: Vec<CompartmentProfile>,
    /// Threshold profiles (`vthProfileCfg`).
    pub vth_profiles: Vec<VthProfile>,
    /// Synapse formats (`synapseFmt`).
    pub synapse_formats: Vec<SynapseFormat>,
    /// Voltage limits (`dendriteSharedCfg`).
    pub dendrite: Dendrite,
    /// Per compartment (`cxCfg`).
    pub compartments: Compartments,
    /// Synapse memory: per input axon, its synapses.
    pub synapses: Vec<AxonSynapses>,
    /// Input axons (`synapseMap`): where each axon's synapses start in [`Core::synapses`].
    pub input_axons: Vec<InputAxon>,
    /// Output axons: compartment → destination.
    pub output_axons: Vec<OutputAxon>,
    /// Resources used.
    pub usage: Usage,
}

/// `cxProfileCfg`.
#[derive(Serialize)]
pub struct CompartmentProfile {
    /// Current decay (12 bits; the chip decays by `(4096 - 1 - decay_u) / 4096`).
    pub decay_u: i32,
    /// Voltage decay (`(4096 - decay_v) / 4096`).
    pub decay_v: i32,
    /// Refractory delay in steps.
    pub refract_delay: i32,
    /// Noise (never enabled).
    pub enable_noise: bool,
}

/// `vthProfileCfg`.
#[derive(Serialize)]
pub struct VthProfile {
    /// Mantissa; the threshold is `vth_mant << 6`.
    pub vth_mant: i32,
    /// The threshold the emulator compares with.
    pub vth: i32,
}

/// `synapseFmt`.
#[derive(Serialize)]
pub struct SynapseFormat {
    /// Weight bits (`wgtBits = 7` means 8).
    pub weight_bits: u32,
    /// Weight exponent (the real exponent is `6 + weight_exp`).
    pub weight_exp: i32,
    /// Index bits (0 with compression 3).
    pub index_bits: u32,
    /// 3: dense/sparse weights with no index per weight; 0: indexed.
    pub compression: u32,
    /// 1: mixed-sign weights (one bit less of magnitude).
    pub fanout_type: u32,
    /// Right shift of stored weights.
    pub shift_bits: i32,
    /// Which connection the format serves.
    pub connection: String,
}

/// `dendriteSharedCfg`.
#[derive(Serialize)]
pub struct Dendrite {
    /// Lowest voltage.
    pub vmin: i32,
    /// Highest voltage.
    pub vmax: i32,
}

/// Per-compartment configuration, one entry per compartment in each array.
#[derive(Serialize)]
pub struct Compartments {
    /// Bias mantissa (12 bits + sign).
    pub bias_mant: Vec<i32>,
    /// Bias exponent (0..7).
    pub bias_exp: Vec<i32>,
    /// Index into `compartment_profiles`.
    pub compartment_profile: Vec<u8>,
    /// Index into `vth_profiles`.
    pub vth_profile: Vec<u8>,
}

/// The synapses of one input axon.
#[derive(Serialize)]
pub struct AxonSynapses {
    /// Index into `synapse_formats`.
    pub format: usize,
    /// Target compartments on this core.
    pub targets: Vec<u32>,
    /// The chip's `Wgt` per synapse (`W // 2^(6 + weight_exp)`, in −256..=255).
    pub weights: Vec<i32>,
}

/// `synapseMap` entry.
#[derive(Serialize)]
pub struct InputAxon {
    /// Axon index on this core.
    pub axon: usize,
    /// First entry in `synapses` (one entry per axon here).
    pub synapse_ptr: usize,
    /// Synapses of the axon.
    pub synapse_len: usize,
    /// The source population and compartment that drive it.
    pub source: String,
    /// Source compartment.
    pub source_compartment: usize,
}

/// One output axon.
#[derive(Serialize)]
pub struct OutputAxon {
    /// Source compartment on this core.
    pub compartment: usize,
    /// Destination chip.
    pub chip: usize,
    /// Destination core.
    pub core: usize,
    /// Destination input axon.
    pub axon: usize,
}

/// The host part.
#[derive(Serialize)]
pub struct Host {
    /// How host and chip take turns: `"precompute"` (nengo-loihi's `precompute=True`: the
    /// host's pre part runs first, then the chip, then the host's post part).
    pub schedule: &'static str,
    /// Populations that run on the host (in float, as Nengo runs them) and send spikes.
    pub populations: Vec<HostPopulation>,
    /// The host's ops (nodes, inputs, transforms, synapses, host functions), one line each as
    /// `snnc ir` prints ops, in execution order; chip populations appear as inputs named
    /// `loihi.NAME` (their spikes, received from the chip).
    pub ops: Vec<String>,
    /// Host → chip: per host population and target core, the input axons its spikes drive.
    pub spike_inputs: Vec<SpikeInput>,
    /// Chip → host: the chip populations whose spikes the host reads.
    pub chip_outputs: Vec<ChipOutput>,
    /// Probes read from the chip.
    pub probes: Vec<HostProbe>,
    /// Probes computed on the host (names, in the program's order).
    pub host_probes: Vec<String>,
}

/// A population run on the host.
#[derive(Serialize)]
pub struct HostPopulation {
    /// Its name in the model.
    pub name: String,
    /// Neurons.
    pub neurons: usize,
}

/// The axons of one core a host population's spikes drive.
#[derive(Serialize)]
pub struct SpikeInput {
    /// The host population.
    pub population: String,
    /// Destination chip and core.
    pub chip: usize,
    /// Destination core.
    pub core: usize,
    /// `discrete` (one axon per neuron) or `pop16` (one axon per pixel, the channel as atom).
    pub axon_type: &'static str,
    /// Input axons used on that core.
    pub axons: usize,
}

/// A chip population whose spikes go to the host.
#[derive(Serialize)]
pub struct ChipOutput {
    /// The population.
    pub population: String,
    /// `(chip, core, compartment)` of each neuron, in population order.
    pub compartments: Vec<[usize; 3]>,
    /// Spike height the host sees (`amplitude / dt`).
    pub scale: f64,
}

/// A probe the host reads.
#[derive(Serialize)]
pub struct HostProbe {
    /// Output name.
    pub name: String,
    /// `spikes` or `voltage`.
    pub key: &'static str,
    /// `(chip, core, compartment)` of each probed value, in output order.
    pub compartments: Vec<[usize; 3]>,
    /// Multiply the read value by this (spike height `amplitude / dt`, 1 for voltages).
    pub scale: f64,
    /// Sample every this many steps.
    pub every: usize,
}

/// Chip and core of block `b` (one block per core, cores filled in order).
pub fn place(b: usize) -> (usize, usize) {
    (b / CORES_PER_CHIP, b % CORES_PER_CHIP)
}

/// The configuration of `chip`.
pub fn config(chip: &Chip, source: &str) -> Config {
    config_with_host(chip, source, &[], &[], &[])
}

/// The configuration of `chip` with its host part: the host's ops (as printed), the chip
/// populations the host reads and the probes it computes.
pub fn config_with_host(
    chip: &Chip,
    source: &str,
    host_ops: &[String],
    chip_reads: &[usize],
    host_probes: &[String],
) -> Config {
    let net = &chip.net;
    // input axon numbering per target block: synapses in order, axons in order
    let mut axon_base: Vec<Vec<usize>> = Vec::new();
    for b in &net.blocks {
        let mut at = 0;
        let mut v = Vec::new();
        for s in &b.synapses {
            v.push(at);
            at += s.axons.len();
        }
        axon_base.push(v);
    }
    let mut cores = Vec::new();
    for (bi, (b, d)) in net.blocks.iter().zip(&chip.discrete).enumerate() {
        let (chip_i, core_i) = place(bi);
        let mut synapses = Vec::new();
        let mut input_axons = Vec::new();
        let mut formats = Vec::new();
        for (si, (s, ds)) in b.synapses.iter().zip(&d.synapses).enumerate() {
            formats.push(SynapseFormat {
                weight_bits: WEIGHT_BITS,
                weight_exp: ds.weight_exp,
                index_bits: 0,
                compression: 3,
                fanout_type: 1,
                shift_bits: SHIFT_BITS,
                connection: s.name.clone(),
            });
            let scale = 1i32 << (6 + ds.weight_exp);
            for (c, a) in s.axon_of.iter().enumerate() {
                let Some(a) = *a else { continue };
                let axon = &ds.axons[a];
                input_axons.push(InputAxon {
                    axon: axon_base[bi][si] + a,
                    synapse_ptr: synapses.len(),
                    synapse_len: axon.len(),
                    source: net.populations[s.source].name.clone(),
                    source_compartment: c,
                });
                synapses.push(AxonSynapses {
                    format: si,
                    targets: axon.iter().map(|&(i, _)| i).collect(),
                    weights: axon.iter().map(|&(_, w)| w.div_euclid(scale)).collect(),
                });
            }
        }
        let mut output_axons = Vec::new();
        for (ti, t) in net.blocks.iter().enumerate() {
            for (si, s) in t.synapses.iter().enumerate() {
                if s.source != b.population {
                    continue;
                }
                let (dc, dk) = place(ti);
                for (j, &c) in b.members.iter().enumerate() {
                    if let Some(a) = s.axon_of.get(c).copied().flatten() {
                        output_axons.push(OutputAxon {
                            compartment: j,
                            chip: dc,
                            core: dk,
                            axon: axon_base[ti][si] + a,
                        });
                    }
                }
            }
        }
        cores.push(Core {
            chip: chip_i,
            core: core_i,
            block: b.name.clone(),
            population_offset: b.offset,
            compartment_profiles: vec![CompartmentProfile {
                decay_u: d.decay_u,
                decay_v: d.decay_v,
                refract_delay: d.refract_delay,
                enable_noise: false,
            }],
            vth_profiles: vec![VthProfile { vth_mant: d.vth >> VTH_EXP, vth: d.vth }],
            synapse_formats: formats,
            dendrite: Dendrite { vmin: d.vmin, vmax: d.vmax },
            compartments: Compartments {
                bias_mant: d.bias_man.clone(),
                bias_exp: d.bias_exp.clone(),
                compartment_profile: vec![0; b.n],
                vth_profile: vec![0; b.n],
            },
            synapses,
            input_axons,
            output_axons,
            usage: usage(chip, bi),
        });
    }
    let probes = net
        .probes
        .iter()
        .map(|p| {
            let mut where_ = Vec::new();
            for &i in &p.select {
                // find the block of population compartment i
                for &b in &net.populations[p.population].blocks {
                    if let Some(j) = net.blocks[b].members.iter().position(|&m| m == i) {
                        let (c, k) = place(b);
                        where_.push([c, k, j]);
                    }
                }
            }
            let b0 = net.populations[p.population].blocks[0];
            let (key, scale) = match p.key {
                crate::block::ProbeKey::Spikes => {
                    ("spikes", (1.0 / net.dt) * net.blocks[b0].amplitude)
                }
                crate::block::ProbeKey::Voltage => ("voltage", 1.0),
                crate::block::ProbeKey::SpikeSum => {
                    ("spike_sum", (1.0 / net.dt) * net.blocks[b0].amplitude)
                }
                crate::block::ProbeKey::Decoded { radius, .. } => {
                    ("decoded", radius / chip.discrete[b0].v_scale)
                }
            };
            HostProbe { name: p.name.clone(), key, compartments: where_, scale, every: p.every }
        })
        .collect();
    Config {
        format: "snnc-loihi-cores",
        version: SCHEMA_VERSION,
        source: source.to_string(),
        dt: net.dt,
        chips: net.blocks.len().div_ceil(CORES_PER_CHIP).max(1),
        limits: Limits {
            compartments: MAX_COMPARTMENTS,
            in_axons: MAX_IN_AXONS,
            out_axons: MAX_OUT_AXONS,
            synapse_bits: MAX_SYNAPSE_BITS,
            cores_per_chip: CORES_PER_CHIP,
        },
        cores,
        host: Host {
            schedule: "precompute",
            populations: net
                .populations
                .iter()
                .filter(|p| p.host)
                .map(|p| HostPopulation { name: p.name.clone(), neurons: p.n })
                .collect(),
            ops: host_ops.to_vec(),
            spike_inputs: spike_inputs(chip),
            chip_outputs: chip_reads
                .iter()
                .map(|&k| {
                    let pop = &net.populations[k];
                    let mut at = vec![[0; 3]; pop.n];
                    for &b in &pop.blocks {
                        let (c, kk) = place(b);
                        for (j, &m) in net.blocks[b].members.iter().enumerate() {
                            at[m] = [c, kk, j];
                        }
                    }
                    let amp = pop.blocks.first().map_or(1.0, |&b| net.blocks[b].amplitude);
                    ChipOutput {
                        population: pop.name.clone(),
                        compartments: at,
                        scale: amp / net.dt,
                    }
                })
                .collect(),
            probes,
            host_probes: host_probes.to_vec(),
        },
    }
}

/// Per host population and target core, the input axons its spikes drive.
fn spike_inputs(chip: &Chip) -> Vec<SpikeInput> {
    let net = &chip.net;
    let mut out = Vec::new();
    for (k, pop) in net.populations.iter().enumerate() {
        if !pop.host {
            continue;
        }
        for (bi, b) in net.blocks.iter().enumerate() {
            let all: Vec<Option<u32>> = (0..b.n as u32).map(Some).collect();
            for s in b.synapses.iter().filter(|s| s.source == k) {
                let (c, kk) = place(bi);
                out.push(SpikeInput {
                    population: pop.name.clone(),
                    chip: c,
                    core: kk,
                    axon_type: if s.pop.is_some() { "pop16" } else { "discrete" },
                    axons: crate::split::synapse_cost(s, &all).0,
                });
            }
        }
    }
    out
}

/// The `--report`: per core its population, compartments, axons in and out, synapse memory
/// against the limit, and per connection the weight exponent and quantization error.
pub fn report(chip: &Chip) -> String {
    let mut s = String::new();
    let net = &chip.net;
    s.push_str(&format!(
        "{} cores on {} chip(s); limits per core: {MAX_COMPARTMENTS} compartments, {MAX_IN_AXONS} input axons, {MAX_OUT_AXONS} output axons, {MAX_SYNAPSE_BITS} synapse bits\n",
        net.blocks.len(),
        net.blocks.len().div_ceil(CORES_PER_CHIP).max(1)
    ));
    s.push_str(
        "chip core  block                 compartments  in-axons  out-axons  synapse bits\n",
    );
    for (bi, b) in net.blocks.iter().enumerate() {
        let u = usage(chip, bi);
        let (c, k) = place(bi);
        s.push_str(&format!(
            "{c:>4} {k:>4}  {:<20} {:>6} {:>5.1}%  {:>8}  {:>9}  {:>8} {:>5.1}%\n",
            b.name,
            u.compartments,
            100.0 * u.compartments as f64 / MAX_COMPARTMENTS as f64,
            u.in_axons,
            u.out_axons,
            u.synapse_bits,
            100.0 * u.synapse_bits as f64 / MAX_SYNAPSE_BITS as f64
        ));
        for (sy, ds) in b.synapses.iter().zip(&chip.discrete[bi].synapses) {
            s.push_str(&format!(
                "            {} -> {}: weight_exp {}, weight quantization error {:.2}% of the connection's largest weight (rms)\n",
                net.populations[sy.source].name,
                b.name,
                ds.weight_exp,
                100.0 * ds.quant_error
            ));
        }
    }
    s
}
