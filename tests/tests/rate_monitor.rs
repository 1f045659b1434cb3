//! Firing-rate monitors (`snnc run --rates`) report exactly the mean of the populations' probed
//! outputs divided by their amplitude, and leave the model's own probes untouched.

use ndarray::{ArrayD, Axis};
use snn_compiler::backend::interp;
use snn_compiler::ir::monitor::{add_rate_monitors, rate_stats};
use snn_compiler::CompileConfig;
use snn_fs::FsDb;

const MODEL: &str = "
input x: [2]
layer spikes: [3] = spiking_relu(gain = [1, 2, 3], bias = [0, 5, 10], amplitude = 0.5)
layer rates: [3] = relu(bias = [1, 2, 3], amplitude = 2)
connect x -> spikes transform [[40, 0], [0, 40], [20, 20]] synapse none
connect spikes -> rates transform 0.01 synapse 5ms
probe spikes
probe rates
";

#[test]
fn monitors_agree_with_probes() {
    let mut db = FsDb::new();
    let root = db.add("monitor.snn", None, MODEL.to_string());
    let mut program =
        snn_compiler::compile(&mut db, root, &CompileConfig::default()).expect("compiles");
    let steps = 500;
    let plain = program.clone();
    let monitors = add_rate_monitors(&mut program, steps);
    assert_eq!(monitors.len(), 2);
    let x = ArrayD::from_shape_vec(vec![2, 2], vec![1.0, 2.0, 0.5, 0.25]).expect("x");
    let with = interp::run(&program, steps, 2, std::slice::from_ref(&x)).expect("run");
    let without = interp::run(&plain, steps, 2, &[x]).expect("run");
    // the model's probes are unchanged by the monitors
    for (a, b) in without.iter().zip(&with) {
        assert_eq!(a, b);
    }
    for (m, (probe, amplitude)) in monitors.iter().zip([(0, 0.5), (1, 2.0)]) {
        let data = &with[probe];
        let expect_mean = data.mean_axis(Axis(1)).expect("steps") / amplitude;
        let stats = rate_stats(m, &with[m.probe], steps);
        let mean = expect_mean.mean().expect("mean");
        let max = expect_mean.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert!((stats.mean_hz - mean).abs() < 1e-9 * mean.abs().max(1.0), "{stats:?} vs {mean}");
        assert!((stats.max_hz - max).abs() < 1e-9 * max.abs().max(1.0), "{stats:?} vs {max}");
        assert_eq!(stats.neurons, 3);
    }
    assert!(monitors[0].spiking && !monitors[1].spiking);
    // a spiking neuron driven by a constant current J fires at J Hz (SpikingRectifiedLinear)
    let stats = rate_stats(&monitors[0], &with[monitors[0].probe], steps);
    let j_max: f64 = 3.0 * (20.0 * 1.0 + 20.0 * 2.0) + 10.0; // neuron 2 of batch 0: 190 Hz
    assert!((stats.max_hz - j_max).abs() <= 1.0 / (steps as f64 * 0.001), "{stats:?}");
}
