//! The loihi target from the command line's side: `snnc check --target loihi` diagnostics
//! (located, each with a code and a help; insta snapshots of the rendered text) and
//! `snnc build --target loihi` (the core configuration file). The emulator itself is compared
//! with nengo-loihi in compiler/loihi/tests.

use snn_compiler::SourceDb;
use snn_fs::FsDb;
use snn_syntax::Diagnostic;
use std::path::{Path, PathBuf};

const DIR: &str = "loihi/diagnostics";

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("tests/loihi/diagnostics exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "snn"))
        .collect();
    files.sort();
    files
}

/// What `snnc check --target loihi` reports.
fn diagnose(path: &Path) -> (FsDb, Vec<Diagnostic>) {
    let mut db = FsDb::new();
    let root = db.load(path).expect("loads");
    let checked = snn_compiler::check(&mut db, root);
    assert!(!checked.has_errors(), "{}: {:?}", path.display(), checked.diagnostics);
    let program = snn_compiler::lower_model_with(&checked.model, 0.001, &snn_loihi::BUILD_OPTIONS)
        .expect("lowers");
    (db, snn_loihi::check(&program))
}

#[test]
fn every_loihi_code_has_a_located_case() {
    let mut seen = std::collections::BTreeSet::new();
    for path in corpus() {
        let (_, diags) = diagnose(&path);
        assert!(!diags.is_empty(), "{}: nothing reported", path.display());
        for d in &diags {
            assert!(
                d.primary.span.end > d.primary.span.start,
                "{}: {} unlocated",
                path.display(),
                d.code
            );
            assert!(d.help.is_some(), "{}: {} says nothing to change", path.display(), d.code);
            seen.insert(d.code);
        }
    }
    let missing: Vec<&str> =
        snn_loihi::codes::ALL.iter().map(|(c, _)| *c).filter(|c| !seen.contains(c)).collect();
    assert!(missing.is_empty(), "codes with no case in tests/loihi/diagnostics: {missing:?}");
}

#[test]
fn rendered_loihi_diagnostics() {
    for path in corpus() {
        let (db, diags) = diagnose(&path);
        let source = std::fs::read_to_string(&path).expect("readable");
        let mut out = format!("{source}\n---- snnc check --target loihi ----\n");
        for d in &diags {
            out.push_str(&snnc::render::render(&db as &dyn SourceDb, d, false));
        }
        let name = path.file_stem().and_then(|s| s.to_str()).expect("utf-8 name").to_string();
        insta::with_settings!({ snapshot_suffix => name.clone(), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("loihi", out);
        });
    }
}

#[test]
fn build_writes_the_core_configuration() {
    let out = std::env::temp_dir().join(format!("snn-loihi-build-{}", std::process::id()));
    let cfg = snnc::build::BuildConfig {
        file: PathBuf::from("loihi/multi_core/model.snn"),
        output: out.clone(),
        name: None,
        dtype: snnc::run::Dtype::Float64,
        target: "loihi".into(),
        dt: 0.001,
        seed: None,
        cc: None,
        report: true,
    };
    let text = snnc::build::build(&cfg).unwrap_or_else(|f| panic!("{}", f.0));
    assert!(text.contains("3 cores on 1 chip(s)"), "{text}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("model.loihi.json")).expect("written"),
    )
    .expect("JSON");
    assert_eq!(json["version"], 3);
    let cores = json["cores"].as_array().expect("cores");
    assert_eq!(cores.len(), 3, "as nengo-loihi (tests/loihi/multi_core/case.toml)");
    // the 1,500-neuron layer on two cores of 750, each driving the relu core's input axons
    assert_eq!(cores[0]["compartments"]["bias_mant"].as_array().map(Vec::len), Some(750));
    assert_eq!(cores[2]["input_axons"].as_array().map(Vec::len), Some(1500));
    assert_eq!(cores[0]["output_axons"].as_array().map(Vec::len), Some(750));
    for c in cores {
        let w = c["synapses"].as_array().expect("synapses");
        for s in w {
            for x in s["weights"].as_array().expect("weights") {
                let x = x.as_i64().expect("int");
                assert!((-256..=255).contains(&x), "Wgt {x} out of the chip's range");
            }
        }
    }
    std::fs::remove_dir_all(&out).ok();
}
