//! The host part of a mapped program, run as nengo-loihi 1.1 runs it with precomputed host
//! input (`Simulator(precompute=True)`, its default when the host's input does not depend on
//! the chip): the host's "pre" part (inputs, nodes and the populations that run on the host)
//! runs first for every step; its populations' spikes enter the chip (a spike at host step
//! `k` reaches its targets' input at chip step `k + 1`, as a chip compartment's would); the
//! chip runs; then the host's "post" part (chip-to-host connections, nodes, probes of host
//! values) runs, reading at host step `k` what the chip sent at step `max(k − 1, 1)`
//! (`HostReceiveProcess`'s queue).
//!
//! Both parts are the program itself with every chip population's neurons replaced by an
//! input of its spikes, trimmed by dead-op elimination to what their probes need, and run by
//! a float target: the interpreter, or the one the command line sets ([`set_host_target`]).

use crate::block::Net;
use snn_compiler::backend::interp::Interp;
use snn_compiler::ir::{opt, InputDecl, OpKind, ProbeDecl, Program};
use snn_compiler::target::{Executable, Target, TargetError};
use snn_runtime::Precision;
use std::collections::BTreeMap;

static HOST_TARGET: std::sync::OnceLock<&'static dyn Target> = std::sync::OnceLock::new();

/// Runs the host parts on `target` (e.g. the JIT) instead of the interpreter; the first call
/// wins.
pub fn set_host_target(target: &'static dyn Target) {
    let _ = HOST_TARGET.set(target);
}

/// One host part, prepared.
pub struct Part {
    /// The prepared program.
    pub exe: Box<dyn Executable>,
    /// The chip populations whose spikes it reads, as inputs after the program's own.
    pub chip_inputs: Vec<usize>,
    /// Whether each of those inputs is read at all (after trimming).
    pub used: Vec<bool>,
    /// Per chip input: `Some(radius)` when it is a chip-to-host decoded value (the block's
    /// `dims` values) rather than spikes.
    pub values: Vec<Option<f64>>,
}

/// The host's parts: `pre` computes the spikes of the host populations (in
/// [`HostPart::sends`] order); `post` computes the program's probes that are not read from
/// the chip (in [`HostPart::probes`] order, indices into the program's probes).
pub struct HostPart {
    /// Runs before the chip.
    pub pre: Option<Part>,
    /// The host populations sending spikes, in `pre`'s probe order.
    pub sends: Vec<usize>,
    /// Runs after the chip.
    pub post: Option<Part>,
    /// The program probes `post` computes.
    pub probes: Vec<usize>,
}

/// A host part before preparation: the trimmed program, the chip populations it reads (as
/// inputs after the program's own) and whether each is read.
pub struct Plan {
    /// The trimmed program.
    pub program: Program,
    /// Chip populations fed as inputs.
    pub chip_inputs: Vec<usize>,
    /// Whether each is read.
    pub used: Vec<bool>,
    /// Per chip input: a decoded value (its radius) rather than spikes.
    pub values: Vec<Option<f64>>,
}

/// The program with chip populations' neurons replaced by inputs, probing `probes`, trimmed.
fn plan(program: &Program, net: &Net, probes: Vec<ProbeDecl>) -> Plan {
    let mut p = program.clone();
    p.probes = probes;
    let n_inputs = p.inputs.len();
    let mut value_inputs = BTreeMap::new();
    for (i, v) in net.chip_values.iter().enumerate() {
        value_inputs.insert(v.op, (n_inputs + i, v.dst));
    }
    let dropped: std::collections::BTreeSet<usize> =
        net.chip_values.iter().map(|v| v.reset).collect();
    for v in &net.chip_values {
        let pop = &net.populations[v.population];
        p.inputs.push(InputDecl { name: format!("loihi.{}", pop.name), shape: vec![pop.n / 2] });
    }
    rewrite_ops(&mut p, net, &value_inputs, &dropped);
    let mut chip_inputs: Vec<usize> = net.chip_values.iter().map(|v| v.population).collect();
    let mut values: Vec<Option<f64>> = net.chip_values.iter().map(|v| Some(v.radius)).collect();
    for (k, pop) in net.populations.iter().enumerate() {
        if pop.host || pop.out == crate::block::NO_SIGNAL {
            continue;
        }
        let input = p.inputs.len();
        for op in p.ops.iter_mut() {
            if matches!(&op.kind, OpKind::SimNeurons { out, .. } if *out == pop.out) {
                op.kind = OpKind::Input { input, dst: pop.out };
            }
        }
        p.inputs.push(InputDecl { name: format!("loihi.{}", pop.name), shape: vec![pop.n] });
        chip_inputs.push(k);
        values.push(None);
    }
    opt::dead::run(&mut p);
    let n0 = n_inputs;
    let used = (0..chip_inputs.len())
        .map(|j| {
            p.ops.iter().any(|op| matches!(op.kind, OpKind::Input { input, .. } if input == n0 + j))
        })
        .collect();
    Plan { program: p, chip_inputs, used, values }
}

/// Adds nengo-loihi's on/off input neurons (`Net::host_encoders`) to the host program `p`:
/// each replaces the `Copy` of its connection's value into the chip ensemble by a spiking
/// ReLU population of `2 · dims` neurons (input current `0.5/dt · [I; −I] · value / radius
/// + 0.5/dt`, voltage starting at 0), whose spikes the chip receives. Signals are appended in
/// the order `lift::host_encoder_signal` numbers them.
///
/// Also replaces each chip-to-host decoded connection's `DotInc` (`values`: op index →
/// (input, product signal)) by an input of the value the chip sends, dropping the `Reset`s
/// in `dropped`.
fn rewrite_ops(
    p: &mut Program,
    net: &Net,
    values: &BTreeMap<usize, (usize, snn_compiler::ir::SignalId)>,
    dropped: &std::collections::BTreeSet<usize>,
) {
    use snn_compiler::ir::{Op, Signal};
    use snn_runtime::neurons::{NeuronType, SpikingRectifiedLinear, StateInit, StateVar};
    let mut inserts: Vec<(usize, Vec<Op>)> = Vec::new();
    // the encoders' input, spikes and voltage first, three each (`host_encoder_signal`)
    let base0 = p.signals.len();
    for h in &net.host_encoders {
        let pop = &net.populations[h.population];
        for suffix in ["in", "out", "voltage"] {
            let name = format!("{}.{suffix}", pop.name);
            p.signals.push(Signal { name, size: 2 * h.dims, init: Vec::new() });
        }
    }
    for (hi, h) in net.host_encoders.iter().enumerate() {
        let pop = &net.populations[h.population];
        let dn = crate::nef::DecodeNeurons::on_off(p.dt);
        let n = 2 * h.dims;
        let base = (base0 + 3 * hi) as u32;
        let j = snn_compiler::ir::SignalId(base);
        let out = snn_compiler::ir::SignalId(base + 1);
        let v = snn_compiler::ir::SignalId(base + 2);
        debug_assert_eq!(out, pop.out);
        // Nengo's ensemble: J = bias + (encoders · gain / 1) · x, x the value / post radius
        let mut mat = ndarray::Array2::zeros((n, h.dims));
        for k in 0..h.dims {
            mat[[k, k]] = dn.gain[0] / h.radius;
            mat[[h.dims + k, k]] = -(dn.gain[1] / h.radius);
        }
        let origin = p.ops[h.op].origin;
        let op = |kind| Op { kind, origin, events: false };
        // a host value into neurons: the on/off neurons read it through the connection's
        // synapse (its own copy, before the transform the chip applies)
        let (value, mut pre, keep) = match &h.source {
            Some((sel, filter)) => {
                let tmp = snn_compiler::ir::SignalId(p.signals.len() as u32);
                p.signals.push(Signal {
                    name: format!("{}.x", pop.name),
                    size: h.dims,
                    init: Vec::new(),
                });
                let copy = op(OpKind::Copy {
                    src: h.value,
                    dst: tmp,
                    src_sel: sel.clone(),
                    dst_sel: None,
                    inc: false,
                });
                match filter {
                    Some(f) => {
                        let xf = snn_compiler::ir::SignalId(p.signals.len() as u32);
                        p.signals.push(Signal {
                            name: format!("{}.xf", pop.name),
                            size: h.dims,
                            init: Vec::new(),
                        });
                        (
                            xf,
                            vec![copy, op(OpKind::Filter { filter: f.clone(), src: tmp, dst: xf })],
                            true,
                        )
                    }
                    None => (tmp, vec![copy], true),
                }
            }
            None => (h.value, Vec::new(), false),
        };
        // readers of a filtered value come before its update
        let post = if h.source.as_ref().is_some_and(|(_, f)| f.is_some()) {
            pre.split_off(1)
        } else {
            Vec::new()
        };
        let mut ops = Vec::new();
        if keep {
            ops.push(p.ops[h.op].clone());
        }
        ops.extend(pre);
        ops.extend([
            op(OpKind::Reset { dst: j, value: vec![dn.bias[0]; n] }),
            op(OpKind::DotInc { mat, src: value, dst: j, src_sel: None, dst_sel: None }),
            op(OpKind::SimNeurons {
                neuron: NeuronType::SpikingRectifiedLinear(SpikingRectifiedLinear::default()),
                j,
                out,
                states: vec![(StateVar::Voltage, v)],
                init: vec![(StateVar::Voltage, StateInit::Constant(0.0))],
                seed: 0,
            }),
        ]);
        ops.extend(post);
        inserts.push((h.op, ops));
    }
    let mut inserts: BTreeMap<usize, Vec<Op>> = inserts.into_iter().collect();
    let old = std::mem::take(&mut p.ops);
    for (i, mut op) in old.into_iter().enumerate() {
        if let Some(ops) = inserts.remove(&i) {
            p.ops.extend(ops);
        } else if let Some(&(input, dst)) = values.get(&i) {
            op.kind = OpKind::Input { input, dst };
            p.ops.push(op);
        } else if !dropped.contains(&i) {
            p.ops.push(op);
        }
    }
}

/// The host's two parts of `program` around the chip `net`: `pre` (the spikes of the host
/// populations, in the returned order) and `post` (the probes not read from the chip, in the
/// returned order of program probe indices).
#[allow(clippy::type_complexity)]
pub fn plans(program: &Program, net: &Net) -> (Option<Plan>, Vec<usize>, Option<Plan>, Vec<usize>) {
    let sends: Vec<usize> =
        net.populations.iter().enumerate().filter(|(_, p)| p.host).map(|(k, _)| k).collect();
    let pre = (!sends.is_empty()).then(|| {
        let probes = sends
            .iter()
            .map(|&k| {
                let pop = &net.populations[k];
                ProbeDecl {
                    name: format!("loihi.send.{}", pop.name),
                    signal: pop.out,
                    shape: vec![pop.n],
                    every: 1,
                }
            })
            .collect();
        plan(program, net, probes)
    });
    let probes: Vec<usize> =
        net.probe_place.iter().enumerate().filter(|(_, p)| p.is_none()).map(|(i, _)| i).collect();
    let post = (!probes.is_empty()).then(|| {
        let decls = probes.iter().map(|&i| program.probes[i].clone()).collect();
        plan(program, net, decls)
    });
    (pre, sends, post, probes)
}

/// The core configuration of `chip` with its host part, for `program` (its source file
/// `source`).
pub fn config(chip: &crate::chip::Chip, program: &Program, source: &str) -> crate::config::Config {
    let (pre, _, post, probes) = plans(program, &chip.net);
    let mut ops = Vec::new();
    for p in pre.iter().chain(&post) {
        ops.extend(
            snn_compiler::ir::print(&p.program)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    let reads: Vec<usize> = post.as_ref().map_or(Vec::new(), |p| {
        p.chip_inputs.iter().zip(&p.used).filter(|(_, u)| **u).map(|(&k, _)| k).collect()
    });
    let names: Vec<String> = probes.iter().map(|&i| program.probes[i].name.clone()).collect();
    crate::config::config_with_host(chip, source, &ops, &reads, &names)
}

fn prepare(plan: Plan, precision: Precision) -> Result<Part, TargetError> {
    let target: &dyn Target = HOST_TARGET.get().copied().unwrap_or(&Interp);
    let exe = target.prepare(&plan.program, precision)?;
    Ok(Part { exe, chip_inputs: plan.chip_inputs, used: plan.used, values: plan.values })
}

impl HostPart {
    /// Splits `program` around the chip `net` and prepares both parts.
    pub fn new(program: &Program, net: &Net, precision: Precision) -> Result<Self, TargetError> {
        let (pre, sends, post, probes) = plans(program, net);
        Ok(HostPart {
            pre: pre.map(|p| prepare(p, precision)).transpose()?,
            sends,
            post: post.map(|p| prepare(p, precision)).transpose()?,
            probes,
        })
    }
}
