//! Snapshots of each optimisation pass on its own: tests/ir_passes/PASS.snn lowered, then only
//! that pass run (every input held), printed as `snnc ir` prints it, with the pass's count.
//! `everything` snapshots the whole pipeline of the JIT (`snnc ir --opt`) on the same files. Every program
//! is verified ([`ir::verify`]) after lowering and after each pass.

use snn_compiler::ir::{self, opt, Program};
use snn_compiler::target::Target;
use snn_jit::Jit;
use std::path::{Path, PathBuf};

fn lowered(path: &Path) -> Program {
    let (_, program) = snnc::run::compile(path, None, 0.001).unwrap_or_else(|f| panic!("{}", f.0));
    program
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ir_passes")
}

/// `p` verified ([`ir::verify`]), or a panic listing every fault.
fn verified(p: &Program, stage: &str) {
    if let Err(errors) = ir::verify(p) {
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        panic!("IR verification failed after {stage}:\n{}", lines.join("\n"));
    }
}

/// Runs `pass` alone on `file`'s program (verified before and after); the count it reports,
/// then the program.
fn after(file: &str, pass: fn(&mut Program, &[bool]) -> usize) -> String {
    let mut p = lowered(&dir().join(file));
    verified(&p, &format!("lowering {file}"));
    let held = vec![true; p.inputs.len()];
    let n = pass(&mut p, &held);
    verified(&p, &format!("the pass on {file}"));
    format!("changed: {n}\n{}", ir::print(&p))
}

#[test]
fn dead_ops_are_removed() {
    let out = after("dead.snn", |p, _| opt::dead::run(p));
    let ops = out.lines().filter(|l| !l.starts_with("signal "));
    assert!(ops.clone().all(|l| !l.contains("unused")), "the unobserved ensemble stays:\n{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn temporaries_are_forwarded() {
    let out = after("forward.snn", |p, _| opt::forward::run(p));
    assert!(out.starts_with("changed: 3"), "{out}");
    assert!(out.contains("DotInc          wide.out[1] += M[1, 3] @ x.out"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn sums_are_distributed_over_encoders() {
    let out = after("distribute.snn", |p, _| opt::distribute::run(p));
    assert!(out.starts_with("changed: 2"), "{out}");
    assert!(out.contains("DotInc          a.neurons.in += M[8, 1] @ conn1.weighted"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn synapses_move_past_readouts() {
    let out = after("commute.snn", |p, _| opt::commute::run(p));
    assert!(out.starts_with("changed: 1"), "{out}");
    assert!(out.contains("DotInc          conn1.out.readout_in += M[2, 16] @ s.out"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn constant_work_is_hoisted() {
    let out = after("hoist.snn", opt::hoist::run);
    assert!(out.contains("once ConvInc"), "{out}");
    assert!(out.contains("once SimNeurons      rate.out = RectifiedLinear(rate.in)"), "{out}");
    assert!(!out.contains("once SimNeurons      conv.out"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn per_step_inputs_are_not_hoisted() {
    let mut p = lowered(&dir().join("hoist.snn"));
    assert_eq!(opt::hoist::run(&mut p, &[false]), 0);
    assert!(p.once.is_empty());
}

#[test]
fn spiking_products_are_event_driven() {
    let out = after("events.snn", |p, _| opt::events::run(p));
    assert!(out.starts_with("changed: 3"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn synapses_are_absorbed_into_products() {
    let out = after("absorb.snn", |p, _| opt::absorb::run(p));
    assert!(out.starts_with("changed: 4"), "{out}");
    assert!(!out.contains("order 1"), "every first-order synapse goes:\n{out}");
    assert!(out.contains("order 2"), "the alpha synapse stays:\n{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn elementwise_chains_are_fused() {
    let mut p = lowered(&dir().join("fuse.snn"));
    verified(&p, "lowering fuse.snn");
    let n = snn_jit::fuse::schedule(&mut p, &[]);
    verified(&p, "the JIT's fusion schedule on fuse.snn");
    let out = format!("changed: {n}\n{}", Jit.print(&p));
    assert!(out.contains("+ SimNeurons"), "{out}");
    assert!(out.contains("+ DotInc          e.neurons.in += M[16, 1] @ e.in"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn everything() {
    let files = ["dead", "forward", "distribute", "commute", "hoist", "events", "absorb", "fuse"];
    for name in files {
        let mut p = lowered(&dir().join(format!("{name}.snn")));
        let held = vec![true; p.inputs.len()];
        let report =
            opt::run_verified(&mut p, &held, &Jit.passes()).unwrap_or_else(|(stage, errors)| {
                let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                panic!("{name}.snn fails verification after {stage}:\n{}", lines.join("\n"))
            });
        insta::assert_snapshot!(
            format!("everything_{name}"),
            format!("{}\n{}", report.join("\n"), Jit.print(&p))
        );
    }
}
