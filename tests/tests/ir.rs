//! IR snapshots: the lowered program of every example and stdlib network, as `snnc ir` prints it.

use snn_compiler::{build, ir, lower, FsDb};
use std::path::Path;

fn lowered(path: &Path) -> String {
    let mut db = FsDb::new();
    let root = db.load(path).expect("example loads");
    let checked = snn_compiler::check(&mut db, root);
    assert!(!checked.has_errors(), "{}: {:?}", path.display(), checked.diagnostics);
    let built = build::build(&checked.model).expect("example builds");
    let program = lower::lower(&checked.model, &built, 0.001).expect("example lowers");
    ir::print(&program)
}

#[test]
fn examples_ir() {
    insta::glob!("../../examples", "*.snn", |path| {
        insta::assert_snapshot!(lowered(path));
    });
}
