//! Decoded (NEF) connections against nengo-loihi 1.1 (fixtures `tests/loihi/nef_*`, written by
//! tools/loihi/gen_nef_fixtures.py): the build profile's gains, biases and decoders; then
//! `snnc run --backend loihi`'s path (host on/off input neurons, decode-neuron blocks,
//! decoded probes) with the emulator's current, voltage and spikes of every compartment at
//! every step identical to nengo-loihi's, and the probes' values.

use ndarray::{Array1, Array2};
use ndarray_npy::NpzReader;
use snn_compiler::target::Executable;
use snn_compiler::CompileConfig;
use snn_fs::FsDb;
use std::fs::File;
use std::path::{Path, PathBuf};

fn nef_cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/loihi");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/loihi")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("nef_")))
        .collect();
    v.sort();
    assert!(v.len() >= 3, "only {} NEF cases", v.len());
    v
}

fn steps(dir: &Path) -> usize {
    let t: toml::Value =
        std::fs::read_to_string(dir.join("case.toml")).expect("case.toml").parse().expect("toml");
    t["steps"].as_integer().expect("steps") as usize
}

fn npz(dir: &Path) -> NpzReader<File> {
    NpzReader::new(File::open(dir.join("expected.npz")).expect("expected.npz")).expect("npz")
}

fn names(z: &mut NpzReader<File>, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = z
        .names()
        .expect("names")
        .into_iter()
        .map(|n| n.trim_end_matches(".npy").to_string())
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

fn program(dir: &Path) -> snn_compiler::ir::Program {
    let mut db = FsDb::new();
    let root = db.load(&dir.join("model.snn")).expect("model.snn loads");
    snn_compiler::compile(
        &mut db,
        root,
        &CompileConfig { build: snn_loihi::BUILD_OPTIONS, ..Default::default() },
    )
    .unwrap_or_else(|d| panic!("{}: {d:?}", dir.display()))
}

/// The build profile: intercepts limited to 0.95 and decoders from `loihi_rates` give
/// nengo-loihi's gains and biases (to the last bits of Nengo's gain formula) and decoders (to
/// the float32 cast nengo-loihi stores them with, after a least-squares solve).
#[test]
fn build_profile_matches_nengo_loihi() {
    for dir in nef_cases() {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        let mut db = FsDb::new();
        let root = db.load(&dir.join("model.snn")).expect("loads");
        let checked = snn_compiler::check(&mut db, root);
        assert!(!checked.has_errors(), "{name}: {:?}", checked.diagnostics);
        let model = &checked.model;
        let built = snn_compiler::build::build_with(model, &snn_loihi::BUILD_OPTIONS, 0.001)
            .unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let nengo = snn_compiler::build::build(model).expect("builds");
        let mut z = npz(&dir);
        let mut compared = 0;
        for key in names(&mut z, "gain_") {
            let ens = key.trim_start_matches("gain_");
            let i = model.objects.iter().position(|o| o.name == ens).expect("ensemble");
            let b = built.ensembles[i].as_ref().expect("built");
            let g: Array1<f64> = z.by_name(&key).expect("gain");
            let bias: Array1<f64> = z.by_name(&format!("bias_{ens}")).expect("bias");
            for (k, (x, y)) in b.gain.iter().zip(&g).enumerate() {
                assert!((x - y).abs() <= 1e-12 * y.abs(), "{name}: {ens} gain {k}: {x} vs {y}");
            }
            for (k, (x, y)) in b.bias.iter().zip(&bias).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-11 * (1.0 + y.abs()),
                    "{name}: {ens} bias {k}: {x} vs {y}"
                );
            }
            compared += 1;
        }
        // decoders: nengo-loihi's weights are f32(transform · decoders / dt)
        for key in names(&mut z, "weights_conn") {
            let ci: usize = key.trim_start_matches("weights_conn").parse().expect("index");
            let want: Array2<f64> = z.by_name(&key).expect("weights");
            let got = built.connections[ci].as_ref().expect("decoded");
            let plain = nengo.connections[ci].as_ref().expect("decoded");
            let max = want.iter().fold(0f64, |m, x| m.max(x.abs()));
            let (mut worst, mut off) = (0f64, 0f64);
            for ((g, p), w) in got.iter().zip(plain).zip(&want) {
                worst = worst.max(((g / 0.001) as f32 as f64 - w).abs());
                off = off.max((p / 0.001 - w).abs());
            }
            assert!(worst <= 1e-5 * max, "{name} {key}: differs by {worst} (largest {max})");
            // the profile matters: Nengo's rates give other decoders
            assert!(off > 1e-3 * max, "{name} {key}: Nengo's decoders are as close ({off})");
            compared += 1;
        }
        assert!(compared >= 1, "{name}: compared {compared}");
    }
}

/// The case with explicit intercepts above 0.95 builds other gains without the profile.
#[test]
fn intercept_limit_changes_gains() {
    let dir = nef_cases().into_iter().find(|d| d.ends_with("nef_channel")).expect("nef_channel");
    let mut db = FsDb::new();
    let root = db.load(&dir.join("model.snn")).expect("loads");
    let model = snn_compiler::check(&mut db, root).model;
    let a = model.objects.iter().position(|o| o.name == "a").expect("a");
    let loihi =
        snn_compiler::build::build_with(&model, &snn_loihi::BUILD_OPTIONS, 0.001).expect("builds");
    let nengo = snn_compiler::build::build(&model).expect("builds");
    let (l, n) = (loihi.ensembles[a].as_ref().expect("a"), nengo.ensembles[a].as_ref().expect("a"));
    let changed = l.gain.iter().zip(&n.gain).filter(|(x, y)| x != y).count();
    let mut w = NpzReader::new(File::open(dir.join("weights.npz")).expect("weights")).expect("npz");
    let ic: Array1<f64> = w.by_name("a_ic").expect("a_ic");
    let above = ic.iter().filter(|x| **x > 0.95).count();
    assert!(above >= 3);
    assert_eq!(changed, above, "the intercepts above 0.95");
}

/// Every compartment's u, v and spike at every step, through the host's on/off neurons and
/// the chip's decode neurons, and the probes: spikes exactly, decoded values to nengo-loihi's
/// float32 probe filter.
#[test]
fn runs_bit_exact_with_nengo_loihi() {
    for dir in nef_cases() {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        let n_steps = steps(&dir);
        let program = program(&dir);
        let exe = snn_loihi::prepare(&program, snn_runtime::Precision::F64)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut z = npz(&dir);
        let u: Array2<i64> = z.by_name("u").expect("u");
        let v: Array2<i64> = z.by_name("v").expect("v");
        let s: Array2<i8> = z.by_name("spiked").expect("spiked");
        assert_eq!(u.ncols(), exe.chip.n_compartments(), "{name}: compartments");
        let mut t = 0;
        let mut spikes = 0;
        let mut overflows = 0;
        let outs = exe
            .run_observed(n_steps, &[], &mut |st| {
                for i in 0..u.ncols() {
                    assert_eq!(i64::from(st.current[i]), u[[t, i]], "{name}: u[{t}, {i}]");
                    assert_eq!(i64::from(st.voltage[i]), v[[t, i]], "{name}: v[{t}, {i}]");
                    assert_eq!(st.spiked[i], s[[t, i]] != 0, "{name}: spiked[{t}, {i}]");
                    spikes += usize::from(st.spiked[i]);
                }
                overflows = st.overflows;
                t += 1;
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t, n_steps);
        eprintln!(
            "{name}: {} compartments x {n_steps} steps identical, {spikes} spikes",
            u.ncols()
        );
        assert!(spikes > 50, "{name}: {spikes} spikes");
        assert_eq!(overflows, 0, "{name}: nengo-loihi ran strictly");
        let mut probes = 0;
        for (pr, out) in program.probes.iter().zip(&outs) {
            let want: Array2<f64> = z.by_name(&format!("probe_{}", pr.name)).expect("probe");
            let got = out.as_slice().expect("layout");
            assert_eq!(got.len(), want.len(), "{name}: {}", pr.name);
            let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
            let spiking = pr.name.ends_with("spikes");
            assert!(scale > 0.1, "{name}: {} is all but zero, the case shows nothing", pr.name);
            for (k, (g, w)) in got.iter().zip(want.iter()).enumerate() {
                if spiking {
                    assert_eq!(g, w, "{name}: {}[{k}]", pr.name);
                } else {
                    assert!((g - w).abs() <= 1e-5 * scale, "{name}: {}[{k}] {g} vs {w}", pr.name);
                }
            }
            probes += 1;
        }
        assert!(probes >= 1);
        // streamed a few steps at a time, two batch elements on two threads: the same samples
        // (what crosses a chunk's end: host spikes into the chip, chip values to the host)
        let mut chunks = Vec::new();
        exe.run_streaming(n_steps, 2, &[], 2, 7, &mut |_| {}, &mut |a| {
            chunks.push(a);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(chunks.len(), n_steps.div_ceil(7), "{name}: chunks");
        let joined = snn_runtime::batch::concat_chunks(&chunks).expect("chunks join");
        for (pr, (whole, streamed)) in program.probes.iter().zip(outs.iter().zip(&joined)) {
            for b in 0..2 {
                let row = streamed.index_axis(ndarray::Axis(0), b);
                let bits =
                    |a: ndarray::ArrayViewD<f64>| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(row),
                    bits(whole.index_axis(ndarray::Axis(0), 0)),
                    "{name}: {} streamed, element {b}",
                    pr.name
                );
            }
        }
    }
}

/// A decoded connection into a post slice (nengo-loihi 1.1 asserts on it, so no oracle): the
/// decode neurons drive only the sliced dimension (`get_post_inds`), which tracks Nengo's
/// float run (the interpreter) while the other stays near zero.
#[test]
fn post_slice_drives_only_its_dimension() {
    use snn_compiler::target::Target;
    let text = "node u = fn t -> sin(2 * pi * 3 * t)\nensemble a = lif(n = 100, dims = 1)\nensemble b = lif(n = 100, dims = 2)\nconnect u -> a synapse 5ms\nconnect a -> b[1] synapse 10ms\nprobe bv = b synapse 20ms\n";
    let dir = std::env::temp_dir().join(format!("snn-loihi-slice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("slice.snn");
    std::fs::write(&path, text).expect("write");
    let compile = |build| {
        let mut db = FsDb::new();
        let root = db.load(&path).expect("loads");
        snn_compiler::compile(&mut db, root, &CompileConfig { build, ..Default::default() })
            .expect("compiles")
    };
    let steps = 500;
    let loihi = snn_loihi::prepare(&compile(snn_loihi::BUILD_OPTIONS), snn_runtime::Precision::F64)
        .expect("maps")
        .run(steps, 1, &[], 1, &mut |_| {})
        .expect("runs");
    let float = snn_compiler::backend::interp::Interp
        .prepare(&compile(Default::default()), snn_runtime::Precision::F64)
        .expect("prepares")
        .run(steps, 1, &[], 1, &mut |_| {})
        .expect("runs");
    let (l, f) = (loihi[0].as_slice().expect("layout"), float[0].as_slice().expect("layout"));
    let rms = |v: Vec<f64>| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    let b0 = rms((0..steps).map(|k| l[2 * k]).collect());
    let b1 = rms((0..steps).map(|k| l[2 * k + 1] - f[2 * k + 1]).collect());
    let peak = (0..steps).map(|k| l[2 * k + 1]).fold(0f64, f64::max);
    std::fs::remove_dir_all(&dir).ok();
    assert!(b0 < 0.05, "b[0] rms {b0}");
    assert!(peak > 0.7, "b[1] peaks at {peak}");
    assert!(b1 < 0.25, "b[1] differs from Nengo's float run by {b1} rms");
}
