//! The loihi target against nengo-loihi 1.1 (fixtures in tests/loihi, written by
//! tools/gen_loihi_fixtures.py): every block's discretized parameters and integer weights, and
//! the emulator's current, voltage and spikes of every compartment at every step, identical.

use ndarray::{Array0, Array1, Array2, ArrayD};
use ndarray_npy::NpzReader;
use snn_compiler::CompileConfig;
use snn_fs::FsDb;
use snn_loihi::emulator::{Program, State};
use std::fs::File;
use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/loihi");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/loihi")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("case.toml").exists())
        .collect();
    v.sort();
    assert!(v.len() >= 5, "only {} cases in tests/loihi", v.len());
    v
}

struct Case {
    steps: usize,
    dt: f64,
    blocks: usize,
    labels: Vec<String>,
    /// Per block: (compartments, input axons, output axons, synapse bits).
    usage: Vec<[usize; 4]>,
    /// Per block: nengo-loihi gave it population (convolution) axons, whose weight layout and
    /// memory are its own: only the emulator state and the weight exponents are compared.
    pop: Vec<bool>,
    /// A case with host input (decoded connections, tests/nef.rs runs it with its host).
    nef: bool,
}

fn case(dir: &Path) -> Case {
    let t: toml::Value =
        std::fs::read_to_string(dir.join("case.toml")).expect("case.toml").parse().expect("toml");
    let labels = t["block"]
        .as_array()
        .map(|a| a.iter().map(|b| b["label"].as_str().expect("label").to_string()).collect())
        .unwrap_or_default();
    let usage = t["block"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    let f = |k: &str| b[k].as_integer().expect("usage") as usize;
                    [f("n"), f("in_axons"), f("out_axons"), f("synapse_bits")]
                })
                .collect()
        })
        .unwrap_or_default();
    let pop = t["block"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| b.get("population_axons").and_then(|v| v.as_bool()).unwrap_or(false))
                .collect()
        })
        .unwrap_or_default();
    Case {
        nef: t.get("nef").and_then(|v| v.as_bool()).unwrap_or(false),
        pop,
        usage,
        steps: t["steps"].as_integer().expect("steps") as usize,
        dt: t["dt"].as_float().expect("dt"),
        blocks: t["blocks"].as_integer().expect("blocks") as usize,
        labels,
    }
}

fn chip(dir: &Path, dt: f64) -> snn_loihi::chip::Chip {
    let mut db = FsDb::new();
    let root = db.load(&dir.join("model.snn")).expect("model.snn loads");
    let program = snn_compiler::compile(
        &mut db,
        root,
        &CompileConfig { seed: None, dt, build: snn_loihi::BUILD_OPTIONS, ..Default::default() },
    )
    .unwrap_or_else(|d| panic!("{}: {d:?}", dir.display()));
    snn_loihi::map(&program).unwrap_or_else(|d| panic!("{}: {d:?}", dir.display()))
}

fn vec_i64(z: &mut NpzReader<File>, name: &str) -> Vec<i64> {
    let a: Array1<i64> = z.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    a.to_vec()
}

fn scalar(z: &mut NpzReader<File>, name: &str) -> i64 {
    let a: Array0<i64> = z.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    a.into_scalar()
}

#[test]
fn discretized_parameters_match_nengo_loihi() {
    for dir in cases() {
        let c = case(&dir);
        let chip = chip(&dir, c.dt);
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        assert_eq!(chip.net.blocks.len(), c.blocks, "{name}: block count");
        let mut z = NpzReader::new(File::open(dir.join("expected.npz")).expect("expected.npz"))
            .expect("npz");
        for (i, (b, d)) in chip.net.blocks.iter().zip(&chip.discrete).enumerate() {
            let pop = &chip.net.populations[b.population].name;
            // decode neurons and decoded probes are nengo-loihi's connection blocks
            let label_ok = if pop.ends_with(".decode") {
                c.labels[i].starts_with("<Connection") && !c.labels[i].contains("Probe")
            } else if pop.ends_with(".host") {
                c.labels[i].starts_with("<Connection") && c.labels[i].contains("to <Node")
            } else if pop.ends_with(".probe") {
                c.labels[i].contains("<Probe of 'decoded_output'")
            } else {
                c.labels[i].contains(&format!("'{pop}'"))
            };
            assert!(label_ok, "{name}: block {i} is {}, not {pop}", c.labels[i]);
            let u = snn_loihi::config::usage(&chip, i);
            let got = [u.compartments, u.in_axons, u.out_axons, u.synapse_bits];
            // population axons: compare compartments only (the rest is nengo-loihi's layout)
            let pop_source =
                chip.net.blocks.iter().enumerate().any(|(t, tb)| {
                    c.pop[t] && tb.synapses.iter().any(|s| s.source == b.population)
                });
            if c.pop[i] || pop_source {
                assert_eq!(got[0], c.usage[i][0], "{name}: block {i} compartments");
            } else {
                assert_eq!(
                    got, c.usage[i],
                    "{name}: block {i} usage (compartments, axons in/out, bits)"
                );
            }
            let p = format!("b{i}_");
            let n = b.n;
            let all = |x: i32| vec![i64::from(x); n];
            assert_eq!(
                vec_i64(&mut z, &(p.clone() + "decay_u")),
                all(d.decay_u),
                "{name} {p}decay_u"
            );
            assert_eq!(
                vec_i64(&mut z, &(p.clone() + "decay_v")),
                all(d.decay_v),
                "{name} {p}decay_v"
            );
            assert_eq!(vec_i64(&mut z, &(p.clone() + "vth")), all(d.vth), "{name} {p}vth");
            assert_eq!(
                vec_i64(&mut z, &(p.clone() + "refract_delay")),
                all(d.refract_delay),
                "{name} {p}refract_delay"
            );
            let bias: Vec<i64> = d.bias().into_iter().map(i64::from).collect();
            assert_eq!(vec_i64(&mut z, &(p.clone() + "bias")), bias, "{name} {p}bias");
            assert_eq!(scalar(&mut z, &(p.clone() + "vmin")), i64::from(d.vmin), "{name} {p}vmin");
            assert_eq!(scalar(&mut z, &(p.clone() + "vmax")), i64::from(d.vmax), "{name} {p}vmax");
            // an ensemble's shared encoder synapse is one synapse in nengo-loihi
            let primary = b.synapses.iter().zip(&d.synapses).filter(|(s, _)| !s.alias);
            for (k, (_, s)) in primary.enumerate() {
                let q = format!("{p}s{k}_");
                assert_eq!(
                    scalar(&mut z, &(q.clone() + "weight_exp")),
                    i64::from(s.weight_exp),
                    "{name} {q}weight_exp"
                );
                if c.pop[i] {
                    continue;
                }
                let w: Array2<i64> = z.by_name(&(q.clone() + "weights")).expect("weights");
                let ix: Array2<i64> = z.by_name(&(q.clone() + "indices")).expect("indices");
                assert_eq!(w.nrows(), s.axons.len(), "{name} {q} axons");
                for (a, axon) in s.axons.iter().enumerate() {
                    let want: Vec<(i64, i64)> = (0..w.ncols())
                        .filter(|&j| ix[[a, j]] >= 0)
                        .map(|j| (ix[[a, j]], w[[a, j]]))
                        .collect();
                    let got: Vec<(i64, i64)> =
                        axon.iter().map(|&(i, w)| (i64::from(i), i64::from(w))).collect();
                    assert_eq!(got, want, "{name} {q} axon {a}");
                }
            }
        }
    }
}

#[test]
fn emulator_state_matches_nengo_loihi_every_step() {
    let mut compared = 0usize;
    for dir in cases() {
        let c = case(&dir);
        if c.nef {
            continue;
        }
        let chip = chip(&dir, c.dt);
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        let mut z = NpzReader::new(File::open(dir.join("expected.npz")).expect("expected.npz"))
            .expect("npz");
        let u: Array2<i64> = z.by_name("u").expect("u");
        let v: Array2<i64> = z.by_name("v").expect("v");
        let s: ArrayD<i8> = z.by_name("spiked").expect("spiked");
        let p = Program::new(&chip);
        assert_eq!(u.ncols(), p.len(), "{name}: compartments");
        let mut st = State::new(&p);
        let mut spikes = 0;
        for t in 0..c.steps {
            st.step(&p);
            for i in 0..p.len() {
                assert_eq!(i64::from(st.current[i]), u[[t, i]], "{name}: u[{t}, {i}]");
                assert_eq!(i64::from(st.voltage[i]), v[[t, i]], "{name}: v[{t}, {i}]");
                assert_eq!(st.spiked[i], s[[t, i]] != 0, "{name}: spiked[{t}, {i}]");
                spikes += usize::from(st.spiked[i]);
            }
        }
        assert!(spikes > 0, "{name}: no spikes, the case shows nothing");
        assert_eq!(st.overflows, 0, "{name}: nengo-loihi ran these strictly (no overflow)");
        compared += c.steps;
    }
    assert!(compared >= 1500);
}

/// `snnc run --backend loihi`'s path (the `Target`): spike probes are nengo-loihi's spikes at
/// the population's spike height, voltage probes its integer voltages, every batch element alike.
#[test]
fn target_probes_are_the_emulator_spikes() {
    use snn_compiler::target::Target;
    for dir in cases() {
        let c = case(&dir);
        if c.nef {
            continue;
        }
        let mut db = FsDb::new();
        let root = db.load(&dir.join("model.snn")).expect("model.snn loads");
        let program = snn_compiler::compile(
            &mut db,
            root,
            &CompileConfig { seed: None, dt: c.dt, ..Default::default() },
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        let exe = snn_loihi::Loihi
            .prepare(&program, snn_runtime::Precision::F64)
            .unwrap_or_else(|e| panic!("{e}"));
        let outs = exe.run(c.steps, 2, &[], 1, &mut |_| {}).expect("runs");
        let chip = chip(&dir, c.dt);
        let mut z = NpzReader::new(File::open(dir.join("expected.npz")).expect("expected.npz"))
            .expect("npz");
        let s: Array2<i8> = z.by_name("spiked").expect("spiked");
        let v: Array2<i64> = z.by_name("v").expect("v");
        for (probe, out) in chip.net.probes.iter().zip(&outs) {
            let idx = chip.population_index(probe.population);
            let height = (1.0 / c.dt)
                * chip.net.blocks[chip.net.populations[probe.population].blocks[0]].amplitude;
            let n = probe.select.len();
            assert_eq!(&out.shape()[..2], &[2, c.steps][..]);
            assert_eq!(out.shape()[2..].iter().product::<usize>(), n);
            let flat = out.as_slice().expect("standard layout");
            for b in 0..2 {
                for t in 0..c.steps {
                    for (k, g) in probe.select.iter().map(|&i| idx[i]).enumerate() {
                        let want = match probe.key {
                            snn_loihi::block::ProbeKey::Spikes => {
                                if s[[t, g]] != 0 {
                                    height
                                } else {
                                    0.0
                                }
                            }
                            snn_loihi::block::ProbeKey::Voltage => v[[t, g]] as f64,
                            snn_loihi::block::ProbeKey::SpikeSum
                            | snn_loihi::block::ProbeKey::Decoded { .. } => {
                                unreachable!("the models have no rate monitors or NEF")
                            }
                        };
                        assert_eq!(
                            flat[(b * c.steps + t) * n + k],
                            want,
                            "{}: {}[{t}, {k}]",
                            c.blocks,
                            probe.name
                        );
                    }
                }
            }
        }
    }
}

/// `snnc run --rates` on the loihi target: the rate monitors' sums are nengo-loihi's spike
/// counts times the spike height.
#[test]
fn rate_monitors_count_the_emulator_spikes() {
    use snn_compiler::target::Target;
    for dir in cases() {
        let c = case(&dir);
        if c.nef {
            continue;
        }
        let mut db = FsDb::new();
        let root = db.load(&dir.join("model.snn")).expect("model.snn loads");
        let mut program = snn_compiler::compile(
            &mut db,
            root,
            &CompileConfig { seed: None, dt: c.dt, ..Default::default() },
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        let monitors = snn_compiler::ir::monitor::add_rate_monitors(&mut program, c.steps);
        let exe = snn_loihi::Loihi
            .prepare(&program, snn_runtime::Precision::F64)
            .unwrap_or_else(|e| panic!("{e}"));
        let outs = exe.run(c.steps, 1, &[], 1, &mut |_| {}).expect("runs");
        let chip = chip(&dir, c.dt);
        let mut z = NpzReader::new(File::open(dir.join("expected.npz")).expect("expected.npz"))
            .expect("npz");
        let s: Array2<i8> = z.by_name("spiked").expect("spiked");
        for m in &monitors {
            let pop =
                chip.net.populations.iter().position(|p| p.name == m.name).expect("population");
            let idx = chip.population_index(pop);
            let height =
                (1.0 / c.dt) * chip.net.blocks[chip.net.populations[pop].blocks[0]].amplitude;
            let got = outs[m.probe].as_slice().expect("layout");
            for (k, &g) in idx.iter().enumerate() {
                let count = (0..c.steps).filter(|&t| s[[t, g]] != 0).count();
                let mut want = 0.0;
                for _ in 0..count {
                    want += height;
                }
                assert_eq!(got[k], want, "{}: {} neuron {k}", dir.display(), m.name);
            }
        }
    }
}
