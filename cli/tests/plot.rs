//! `snnc plot`: figures are written whole (PNG and SVG), and bad requests are errors that leave
//! no file behind.

use ndarray::{ArrayD, IxDyn};
use snn_io::{write_npy, write_npz, Precision};
use snnc::plot::{plot, sample_neurons, PlotConfig};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-plot-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A run file with a 300-neuron `layer` probe and a 3-output `out` probe, batch 2, 20 steps.
fn run_file(dir: &Path) -> PathBuf {
    let layer = ArrayD::from_shape_fn(IxDyn(&[2, 20, 300]), |i| ((i[1] * i[2]) % 7) as f64);
    let out =
        ArrayD::from_shape_fn(IxDyn(&[2, 20, 3]), |i| (i[1] as f64 * 0.1).sin() * i[2] as f64);
    let path = dir.join("run.npz");
    write_npz(&path, &[("layer", layer.view()), ("out", out.view())], Precision::F64).expect("npz");
    path
}

fn config(data: PathBuf, output: PathBuf) -> PlotConfig {
    PlotConfig { data, output, probes: vec![], image: None, indices: vec![], neurons: 50, dt: None }
}

#[test]
fn writes_png_and_svg() {
    let dir = scratch("ok");
    let data = run_file(&dir);
    let images = ArrayD::from_shape_fn(IxDyn(&[2, 28, 28, 1]), |i| (i[1] + i[2]) as f64);
    write_npy(&dir.join("img.npy"), images.view(), Precision::F32).expect("npy");

    let mut cfg = config(data.clone(), dir.join("fig.png"));
    cfg.image = Some(dir.join("img.npy"));
    cfg.indices = vec![0, 1];
    plot(&cfg).expect("png");
    let png = std::fs::read(dir.join("fig.png")).expect("png written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let mut cfg = config(data, dir.join("fig.svg"));
    cfg.probes = vec!["out".into()];
    plot(&cfg).expect("svg");
    let svg = std::fs::read_to_string(dir.join("fig.svg")).expect("svg written");
    assert!(
        svg.contains("<svg") && svg.contains("out (batch 0)"),
        "{}",
        &svg[..200.min(svg.len())]
    );
    assert!(!svg.contains("layer"), "only the requested probe is drawn");
}

#[test]
fn bad_requests_are_errors_without_output() {
    let dir = scratch("bad");
    let data = run_file(&dir);
    let out = dir.join("fig.png");
    let mut cfg = config(data.clone(), out.clone());
    cfg.probes = vec!["nope".into()];
    let e = plot(&cfg).expect_err("unknown probe");
    assert!(e.contains("no probe `nope`") && e.contains("layer, out"), "{e}");

    let mut cfg = config(data.clone(), out.clone());
    cfg.indices = vec![2];
    assert!(plot(&cfg).expect_err("index").contains("batch has 2"));

    let cfg = config(data.clone(), dir.join("fig.jpg"));
    assert!(plot(&cfg).expect_err("format").contains(".png or .svg"));

    let mut cfg = config(data, out.clone());
    cfg.image = Some(dir.join("missing.npy"));
    assert!(plot(&cfg).is_err());
    assert!(!out.exists(), "nothing is written on error");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".snnc-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files are removed");
}

#[test]
fn samples_neurons_like_numpy_linspace() {
    // numpy: np.linspace(0, 10, 4, endpoint=False).astype(int) == [0, 2, 5, 7]
    assert_eq!(sample_neurons(10, 4), vec![0, 2, 5, 7]);
    assert_eq!(sample_neurons(3, 5), vec![0, 1, 2]);
}
