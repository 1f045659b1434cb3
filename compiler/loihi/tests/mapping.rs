//! Mapping: nengo-loihi's splitting never overflows a core here (the 1,500 -> 300 dense
//! connection nengo-loihi 1.1 fails to build fits), and what cannot map is reported with a
//! located diagnostic carrying its code.

use snn_compiler::CompileConfig;
use snn_fs::FsDb;
use snn_loihi::config::{usage, MAX_COMPARTMENTS, MAX_IN_AXONS, MAX_OUT_AXONS, MAX_SYNAPSE_BITS};

fn program(text: &str) -> snn_compiler::ir::Program {
    let dir = std::env::temp_dir().join(format!("snn-loihi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("m{}.snn", text.len()));
    std::fs::write(&path, text).expect("write model");
    let mut db = FsDb::new();
    let root = db.load(&path).expect("load");
    snn_compiler::compile(
        &mut db,
        root,
        &CompileConfig { seed: None, dt: 0.001, ..Default::default() },
    )
    .unwrap_or_else(|d| panic!("{d:?}"))
}

#[test]
fn dense_1500_to_300_fits_without_overflow() {
    let dir = std::env::temp_dir().join(format!("snn-loihi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let w = ndarray::Array2::<f64>::from_shape_fn((300, 1500), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f64 * 1e-3 - 4e-3
    });
    let mut npz =
        ndarray_npy::NpzWriter::new(std::fs::File::create(dir.join("w1500.npz")).expect("npz"));
    npz.add_array("w", &w).expect("add");
    npz.finish().expect("finish");
    let p = program(&format!(
        "weights w = \"{}\"\nlayer a: [1500] = lif(bias = 2)\nlayer b: [300] = lif(bias = 0.5)\n\
         connect a -> b transform w[\"w\"] synapse 5ms\nprobe b\n",
        dir.join("w1500.npz").display()
    ));
    let chip = snn_loihi::map(&p).expect("maps");
    let b: Vec<_> = (0..chip.net.blocks.len()).map(|i| usage(&chip, i)).collect();
    for u in &b {
        assert!(u.compartments <= MAX_COMPARTMENTS && u.in_axons <= MAX_IN_AXONS);
        assert!(u.out_axons <= MAX_OUT_AXONS && u.synapse_bits <= MAX_SYNAPSE_BITS, "{u:?}");
    }
    // nengo-loihi's rule gives 4 pieces of 75, each 1,056,000 bits (over the limit)
    assert_eq!(snn_loihi::split::n_split(&snn_loihi::lift::lift(&p).expect("lift"), 1), 4);
    assert_eq!(
        chip.net.blocks.len(),
        2 + 5,
        "a on two cores, b on five (nengo-loihi: four, overflowing): {b:?}"
    );
}

#[test]
fn what_cannot_map_is_located() {
    let cases = [
        ("layer a: [3] = sigmoid(bias = 1)\nprobe a\n", snn_loihi::codes::NEURON_TYPE, "a"),
        (
            "layer a: [3] = lif(bias = 2)\nlayer b: [3] = lif(bias = 0)\nconnect a -> b synapse alpha(5ms)\nprobe b\n",
            snn_loihi::codes::SYNAPSE,
            "connect",
        ),
        (
            "layer a: [3] = lif(bias = 2)\nnode n = fn (t, v: [3]) -> v * v\nlayer b: [3] = lif(bias = 0)\nconnect a -> n\nconnect n -> b\nprobe b\n",
            snn_loihi::codes::HOST,
            "connect n",
        ),
        (
            "input x: [3]\nlayer b: [3] = lif(bias = 0)\nconnect x -> b\nprobe r = b.refractory_time\n",
            snn_loihi::codes::HOST,
            "b",
        ),
    ];
    for (text, code, at) in cases {
        let p = program(text);
        let d = snn_loihi::map(&p).expect_err("does not map");
        let e = d.iter().find(|d| d.code == code).unwrap_or_else(|| panic!("{code}: {d:?}"));
        let span = e.primary.span;
        let src = &text[span.start as usize..span.end as usize];
        assert!(src.contains(at), "{code} points at `{src}`, not at `{at}`");
        assert!(e.help.is_some(), "{code} says what to change");
    }
}

#[test]
fn more_chips_than_allowed_is_an_error() {
    let per_chip = snn_loihi::config::CORES_PER_CHIP;
    assert!(snn_loihi::check_chips(snn_loihi::MAX_CHIPS * per_chip).is_none());
    let d = snn_loihi::check_chips(snn_loihi::MAX_CHIPS * per_chip + 1).expect("too many");
    assert_eq!(d.code, snn_loihi::codes::CAPACITY);
    assert!(d.message.contains("33 chips"), "{}", d.message);
}

/// The host part on nengo-loihi's precompute schedule: a population a convolution of an input
/// drives runs on the host; the chip population it feeds is on the chip; a node reading the
/// chip's spikes sees at host step `k` the chip's spikes of step `max(k - 1, 1)`
/// (`HostReceiveProcess`); the configuration names both directions.
#[test]
fn host_part_runs_on_the_precompute_schedule() {
    use snn_compiler::target::Target;
    let dir = std::env::temp_dir().join(format!("snn-loihi-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let k0 = ndarray::Array4::<f64>::from_shape_fn((3, 3, 1, 2), |(i, j, _, f)| {
        0.05 + 0.02 * (i + 2 * j + f) as f64
    });
    let k1 = ndarray::Array4::<f64>::from_shape_fn((2, 2, 2, 2), |(i, j, c, f)| {
        0.2 + 0.05 * ((i + j + c + f) % 3) as f64
    });
    let mut npz =
        ndarray_npy::NpzWriter::new(std::fs::File::create(dir.join("k.npz")).expect("npz"));
    npz.add_array("k0", &k0).expect("add");
    npz.add_array("k1", &k1).expect("add");
    npz.finish().expect("finish");
    let p = program(&format!(
        "weights w = \"{}\"\ninput x: [4, 4, 1]\n\
         layer a: [2, 2, 2] = spiking_relu(bias = 200)\n\
         connect x -> a transform conv2d(kernel = w[\"k0\"], strides = [1, 1], padding = valid) synapse none\n\
         layer b: [1, 1, 2] = spiking_relu(bias = 100)\n\
         connect a -> b transform conv2d(kernel = w[\"k1\"], strides = [1, 1], padding = valid) synapse 5ms\n\
         node n: [2]\nconnect b -> n synapse none\nprobe n\nprobe b\n",
        dir.join("k.npz").display()
    ));
    let chip = snn_loihi::map(&p).expect("maps");
    let pops: Vec<(&str, bool)> =
        chip.net.populations.iter().map(|q| (q.name.as_str(), q.host)).collect();
    assert_eq!(pops, [("a", true), ("b", false)]);
    assert_eq!(chip.net.blocks.len(), 1, "only b on a core");
    let conf = snn_loihi::host::config(&chip, &p, "m.snn");
    assert_eq!(conf.host.populations.len(), 1);
    assert_eq!(conf.host.spike_inputs[0].axon_type, "pop16");
    assert_eq!(conf.host.spike_inputs[0].axons, 4, "one axon per pixel of a");
    assert_eq!(conf.host.chip_outputs[0].population, "b");
    assert_eq!(conf.host.host_probes, ["n"]);

    let steps = 40;
    let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[1, 4, 4, 1]), 1.0);
    let exe = snn_loihi::Loihi.prepare(&p, snn_runtime::Precision::F64).expect("prepares");
    let out = exe.run(steps, 1, &[x], 1, &mut |_| {}).expect("runs");
    let (n, b) = (&out[0], &out[1]);
    assert_eq!(n.shape(), [1, steps, 2]);
    assert_eq!(b.shape(), [1, steps, 1, 1, 2]);
    let spikes: f64 = b.iter().filter(|v| **v != 0.0).count() as f64;
    assert!(spikes >= 4.0, "the chip population spikes ({spikes})");
    let (n, b) = (n.as_slice().expect("n"), b.as_slice().expect("b"));
    for k in 1..=steps {
        let from = (k.max(2) - 1).max(1);
        for i in 0..2 {
            assert_eq!(n[(k - 1) * 2 + i], b[(from - 1) * 2 + i], "host step {k}, value {i}");
        }
    }
}
