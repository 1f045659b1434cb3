//! IR snapshots: the lowered program of every example and stdlib network, as `snnc ir` prints it.

use snn_compiler::{ir, CompileConfig, FsDb};
use std::path::Path;

fn lowered(path: &Path) -> String {
    let mut db = FsDb::new();
    let root = db.load(path).expect("example loads");
    let program = snn_compiler::compile(&mut db, root, &CompileConfig::default())
        .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
    ir::print(&program)
}

#[test]
fn examples_ir() {
    insta::glob!("../../examples", "*.snn", |path| {
        insta::assert_snapshot!(lowered(path));
    });
}
