//! IR snapshots: the lowered program of every example and stdlib network, as `snnc ir` prints it;
//! and the IR verifier run on every example, benchmark and pass test program, after lowering
//! and after each optimisation pass.

use snn_compiler::ir::{self, monitor, opt, Program};
use snn_compiler::CompileConfig;
use snn_fs::FsDb;
use std::path::{Path, PathBuf};

fn lowered(path: &Path) -> String {
    ir::print(&program(path))
}

fn program(path: &Path) -> Program {
    let mut db = FsDb::new();
    let root = db.load(path).expect("example loads");
    snn_compiler::compile(&mut db, root, &CompileConfig::default())
        .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
}

#[test]
fn examples_ir() {
    insta::glob!("../../examples", "*.snn", |path| {
        insta::assert_snapshot!(lowered(path));
    });
}

/// Every `.snn` file of examples/, examples/bench/ and tests/ir_passes/.
fn all_programs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [root.join("../examples"), root.join("../examples/bench"), root.join("ir_passes")];
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).expect("directory lists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "snn") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn describe(errors: &[ir::VerifyError]) -> String {
    errors.iter().map(|e| format!("\n  {e}")).collect()
}

#[test]
fn every_program_verifies_after_lowering_and_each_pass() {
    let files = all_programs();
    assert!(files.len() >= 15, "{files:?}");
    let mut failures = Vec::new();
    for path in &files {
        let lowered = program(path);
        let name = path.display();
        if let Err(e) = ir::verify(&lowered) {
            failures.push(format!("{name} after lowering:{}", describe(&e)));
            continue;
        }
        // Inputs held (hoisting) and per step (none), and with rate monitors added.
        let n = lowered.inputs.len();
        for (how, held, monitors) in
            [("held", true, false), ("per step", false, false), ("monitored", false, true)]
        {
            let mut p = lowered.clone();
            if monitors {
                monitor::add_rate_monitors(&mut p, 10);
                if let Err(e) = ir::verify(&p) {
                    failures.push(format!("{name} with monitors:{}", describe(&e)));
                    continue;
                }
            }
            for target in snnc::run::TARGETS {
                let mut p = p.clone();
                if let Err((stage, e)) = opt::run_verified(&mut p, &vec![held; n], &target.passes())
                {
                    let t = target.name();
                    failures.push(format!("{name} ({how}, {t}) after {stage}:{}", describe(&e)));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
