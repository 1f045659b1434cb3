//! The broken-program corpus (tests/diagnostics/*.snn): every file declares the diagnostics it must
//! produce in `// expect: CODE at LINE:COL` header lines (errors and warnings); the checker (and, for models that check
//! clean, the NEF build and lowering, as `snnc run` does) must report exactly those codes at exactly
//! those places, and the rendered text is snapshot-tested. A tidy test checks that every code in the
//! registry has at least one broken program.

use snn_compiler::SourceDb;
use snn_fs::FsDb;
use snn_syntax::{codes, Diagnostic, LineIndex};
use std::path::{Path, PathBuf};

const DIR: &str = "diagnostics";

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("tests/diagnostics exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "snn"))
        .collect();
    files.sort();
    files
}

/// `(code, line, col)` from the `// expect:` header lines.
fn expected(text: &str) -> Vec<(String, usize, usize)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("// expect: "))
        .map(|rest| {
            let (code, at) = rest.split_once(" at ").expect("`// expect: CODE at L:C`");
            let (line, col) = at.trim().split_once(':').expect("L:C");
            (
                code.trim().to_string(),
                line.parse().expect("line number"),
                col.parse().expect("column number"),
            )
        })
        .collect()
}

/// Everything `snnc check` and then `snnc run` (up to the IR) report for `path`.
fn diagnose(path: &Path) -> (FsDb, Vec<Diagnostic>) {
    let mut db = FsDb::new();
    let root = db.load(path).expect("corpus file loads");
    let checked = snn_compiler::check(&mut db, root);
    let mut diags = checked.diagnostics.clone();
    if !checked.has_errors() {
        if let Err(d) = snn_compiler::lower_model(&checked.model, 0.001) {
            diags.extend(d);
        }
    }
    (db, diags)
}

fn position(db: &FsDb, d: &Diagnostic) -> (usize, usize) {
    let span = d.primary.span;
    LineIndex::new(db.text(span.file)).line_col(span.start as usize)
}

#[test]
fn every_broken_program_reports_what_it_expects() {
    let files = corpus();
    assert!(files.len() >= 40, "the corpus has only {} programs", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let want = expected(&text);
        assert!(!want.is_empty(), "{} has no `// expect:` header", path.display());
        let (db, diags) = diagnose(path);
        let got: Vec<(String, usize, usize)> = diags
            .iter()
            .map(|d| {
                let (l, c) = position(&db, d);
                (d.code.to_string(), l, c)
            })
            .collect();
        if got != want {
            failures.push(format!("{}: expected {want:?}, got {got:?}", path.display()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn rendered_diagnostics() {
    for path in corpus() {
        let (db, diags) = diagnose(&path);
        let source = std::fs::read_to_string(&path).expect("readable");
        let mut out = format!("{source}\n---- snnc check ----\n");
        for d in &diags {
            out.push_str(&snnc::render::render(&db as &dyn SourceDb, d, false));
        }
        // absolute paths in messages (a file that cannot be read) differ between machines
        let repo =
            std::env::current_dir().expect("cwd").parent().expect("repo").display().to_string();
        let out = out.replace(&repo, "<repo>");
        let name = path.file_stem().and_then(|s| s.to_str()).expect("utf-8 name").to_string();
        insta::with_settings!({ snapshot_suffix => name.clone(), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("diagnostics", out);
        });
    }
}

#[test]
fn every_code_has_a_broken_program() {
    let mut covered = std::collections::BTreeSet::new();
    for path in corpus() {
        let text = std::fs::read_to_string(&path).expect("readable");
        for (code, _, _) in expected(&text) {
            covered.insert(code);
        }
    }
    let missing: Vec<&str> =
        codes::ALL.iter().map(|(c, _)| *c).filter(|c| !covered.contains(*c)).collect();
    assert!(missing.is_empty(), "codes with no broken program in tests/diagnostics: {missing:?}");
}
