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
            "input x: [3]\nlayer b: [3] = lif(bias = 0)\nconnect x -> b\nprobe b\n",
            snn_loihi::codes::HOST,
            "x",
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
