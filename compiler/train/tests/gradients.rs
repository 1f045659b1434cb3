//! The backward pass against central finite differences of the forward pass, for every kind of
//! op the gradient passes through: dense, sparse, elementwise and scalar transforms, grouped
//! and plain convolutions, layer biases, selections, every trainable neuron type (spiking ones
//! through their rate equivalents), lowpass, alpha and general linear synapses over several
//! steps, max pooling, softmax and ELU host ops, and probes sampled every other step.

use ndarray::{Array3, ArrayD};
use snn_fs::FsDb;
use snn_train::engine::{Engine, Feed, Workspace};
use snn_train::loss::{self, Loss, LossKind};

/// A deterministic pseudo-random value in [-1, 1) for index `i` and stream `s`.
fn noise(i: usize, s: usize) -> f64 {
    let x =
        (i as u64).wrapping_mul(6364136223846793005).wrapping_add(s as u64 * 1442695040888963407);
    let x = (x ^ (x >> 29)).wrapping_mul(0xbf58476d1ce4e5b9);
    ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// Checks every parameter's gradient of an MSE loss on every probe of `src` over `steps`
/// (in float64, and in float32 against float64's).
fn check(name: &str, src: &str, steps: usize) {
    let mut db = FsDb::new();
    let root = db.add(&format!("{name}.snn"), None, src.to_string());
    let checked = snn_compiler::check_with_seed(&mut db, root, Some(3));
    assert!(!checked.has_errors(), "{name}: {:?}", checked.diagnostics);
    let program = snn_compiler::lower_model(&checked.model, 0.001).expect("lowers");
    let (params, _) = snn_train::params::find(&checked.model, &program);
    assert!(!params.is_empty(), "{name}: no parameters");
    let engine = Engine::<f64>::new(&program, &params).expect("engine");
    let rows = 3;
    let inputs: Vec<Array3<f64>> = program
        .inputs
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let size: usize = d.shape.iter().product();
            Array3::from_shape_fn((rows, steps, size), |(b, t, i)| {
                1.5 * noise(b * 1000 + t * 100 + i, k) + 0.3
            })
        })
        .collect();
    let feed = Feed { inputs: &inputs, steps };
    let values: Vec<ArrayD<f64>> = params.iter().map(|p| p.value.clone()).collect();
    let mut ws = Workspace::default();
    engine.forward(&values, feed, &mut ws).expect("forward");
    let probes = ws.probes();
    let targets: Vec<Array3<f64>> = probes
        .iter()
        .enumerate()
        .map(|(k, p)| {
            Array3::from_shape_fn(p.raw_dim(), |(b, t, i)| noise(b * 97 + t * 13 + i, 50 + k))
        })
        .collect();
    let losses: Vec<Loss> = (0..probes.len())
        .map(|probe| Loss {
            probe,
            kind: LossKind::Mse,
            probabilities: false,
            weight: 1.0,
            constant: None,
        })
        .collect();
    // The loss, its seeds left in `ws` for the backward pass.
    let total = |values: &[ArrayD<f64>], ws: &mut Workspace<f64>| -> f64 {
        engine.forward(values, feed, ws).expect("forward");
        let (probes, seeds) = ws.probes_and_seeds();
        let mut sum = 0.0;
        for (l, t) in losses.iter().zip(&targets) {
            let g = Some(seeds[l.probe].view_mut());
            sum += loss::evaluate(l, probes[l.probe].view(), t.view(), rows, g).0 / rows as f64;
        }
        sum
    };
    total(&values, &mut ws);
    let grads = engine.backward(&values, &mut ws).expect("backward");
    // Finite differences in the same workspace, run again and again: what a forward pass
    // leaves in its buffers must not change the next.
    let mut checked_values = 0;
    for (pi, p) in params.iter().enumerate() {
        let n = p.value.len();
        let picks: Vec<usize> = (0..n.min(12)).map(|k| k * n / n.min(12)).collect();
        for &i in &picks {
            let h = 1e-6 * (1.0 + p.value.iter().nth(i).map_or(0.0, |v| v.abs()));
            let mut shift = |d: f64| {
                let mut v = values.clone();
                if let Some(x) = v[pi].iter_mut().nth(i) {
                    *x += d;
                }
                total(&v, &mut ws)
            };
            let fd = (shift(h) - shift(-h)) / (2.0 * h);
            let g = grads[pi].iter().nth(i).copied().unwrap_or(f64::NAN);
            let tol = 1e-5 * (1.0 + fd.abs().max(g.abs()));
            assert!(
                (fd - g).abs() <= tol,
                "{name}: {} [{i}]: finite difference {fd}, backward {g}",
                p.name
            );
            checked_values += 1;
        }
    }
    assert!(checked_values > 0);
    // The same gradients computed in float32 (how `snnc train` trains by default), within
    // float32's rounding of the largest of each parameter's.
    let engine32 = Engine::<f32>::new(&program, &params).expect("engine");
    let mut ws32 = Workspace::default();
    engine32.forward(&values, feed, &mut ws32).expect("forward");
    let (probes, seeds) = ws32.probes_and_seeds();
    for (l, t) in losses.iter().zip(&targets) {
        let g = Some(seeds[l.probe].view_mut());
        loss::evaluate(l, probes[l.probe].view(), t.view(), rows, g);
    }
    let grads32 = engine32.backward(&values, &mut ws32).expect("backward");
    for ((p, g64), g32) in params.iter().zip(&grads).zip(&grads32) {
        let scale = g64.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = g64.iter().zip(g32).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err <= 1e-4 * scale + 1e-9,
            "{name}: {} in float32: off by {err:e} of {scale:e}",
            p.name
        );
    }
}

#[test]
fn dense_biases_selections_and_rate_neurons() {
    check(
        "dense",
        "input x: [4]
         layer a: [5] = sigmoid(tau_ref = 1, bias = [0.1, -0.2, 0.3, 0.0, 0.5])
         layer b: [3] = tanh(tau_ref = 1)
         layer c: [3] = leaky_relu(negative_slope = 0.1)
         layer d: [3] = lif_rate(amplitude = 0.01)
         connect x -> a transform glorot_uniform() synapse none
         connect a[1:4] -> b transform [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6], [0.3, 0.3, 0.3]] synapse none
         connect a[0:3] -> c[0:3] transform 0.7 synapse none
         connect b -> d transform [2.0, 3.0, 4.0] synapse none
         connect c -> d transform gaussian(1, 0.5) synapse none
         probe b
         probe c
         probe d",
        2,
    );
}

#[test]
fn spiking_neurons_train_as_their_rates() {
    check(
        "spiking",
        "input x: [3]
         layer a: [4] = lif(amplitude = 0.01, bias = 1.5)
         layer b: [2] = spiking_relu()
         connect x -> a transform uniform(-1, 1) synapse none
         connect a -> b transform he_normal() synapse none
         probe b",
        1,
    );
}

#[test]
fn synapses_carry_gradients_through_time() {
    check(
        "synapses",
        "input x: [3]
         layer a: [3] = tanh(tau_ref = 1)
         layer b: [2] = tanh(tau_ref = 1)
         node n: [2]
         connect x -> a transform [[0.5, 0.1, 0.0], [0.2, -0.4, 0.3], [0.0, 0.6, 0.1]] synapse lowpass(5ms)
         connect a -> b transform [[1.0, -0.5, 0.3], [0.2, 0.8, -0.1]] synapse alpha(3ms)
         connect a[0:2] -> n transform [0.5, 0.25] synapse linear_filter(num = [0.002, 1], den = [0.004, 1])
         connect b -> b transform [[0.3, 0.0], [0.1, 0.2]] synapse 10ms
         probe b
         probe n sample_every 2ms",
        6,
    );
}

#[test]
fn sparse_transforms() {
    check(
        "sparse",
        "input x: [4]
         layer a: [3] = tanh(tau_ref = 1)
         connect x -> a transform sparse(shape = [3, 4], indices = [[0, 0], [1, 3], [2, 1], [2, 2]], values = [0.5, -0.2, 0.7, 0.1]) synapse none
         probe a",
        1,
    );
}

#[test]
fn convolutions_pooling_and_host_ops() {
    check(
        "conv",
        "input img: [6, 6, 2]
         layer c1: [4, 4, 4] = tanh(tau_ref = 1)
         layer c2: [4, 4, 4] = leaky_relu(negative_slope = 0.2)
         node pool: [2, 2, 4] = max_pool2d(input_shape = [4, 4, 4], size = [2, 2], strides = [2, 2], padding = valid)
         node e: [16] = elu(alpha = 1)
         node sm: [4] = softmax(input_shape = [4])
         connect img -> c1 transform conv2d(filters = 4, kernel_size = [3, 3], init = glorot_uniform(), padding = valid) synapse none
         connect c1 -> c2 transform conv2d(filters = 4, kernel_size = [3, 3], init = uniform(-0.5, 0.5), padding = same, groups = 2) synapse none
         connect c2 -> pool synapse none
         connect pool -> e synapse none
         connect e -> sm transform glorot_uniform() synapse none
         probe sm",
        1,
    );
}

/// Keras host layers (`keras_layer`) are differentiated exactly through the evaluator over
/// dual numbers: a normalisation, an activation, a two-input merge and a recurrent layer.
#[test]
fn keras_host_layers() {
    check(
        "keras",
        r#"input x: [8]
         layer h: [8] = tanh(tau_ref = 1)
         node ln: [8] = keras_layer(class = "LayerNormalization", input_shape = [8], config = "{\"axis\":-1,\"epsilon\":0.001,\"center\":true,\"scale\":true}", keras = 2, gamma = [1.5, 0.5, 1, 2, 0.7, 1.1, 0.9, 1.3], beta = [0.1, 0, -0.2, 0.3, 0, 0.05, -0.1, 0.2])
         node act: [8] = keras_layer(class = "Activation", input_shape = [8], config = "{\"activation\":\"gelu\"}", keras = 3)
         node mul: [4] = keras_layer(class = "Multiply", input_shape = [[4], [4]], config = "{}", keras = 2)
         node rnn: [3] = keras_layer(class = "SimpleRNN", input_shape = [4, 2], config = "{\"units\":3,\"activation\":\"tanh\"}", keras = 2, kernel = [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]], recurrent_kernel = [[0.3, 0.1, -0.2], [0, 0.5, 0.1], [-0.4, 0.2, 0.3]], bias = [0.1, -0.1, 0])
         layer out: [3] = relu()
         connect x -> h transform glorot_uniform() synapse none
         connect h -> ln synapse none
         connect ln -> act synapse none
         connect act[0:4] -> mul[0:4] synapse none
         connect act[4:8] -> mul[4:8] synapse none
         connect act -> rnn synapse none
         connect rnn -> out transform glorot_uniform() synapse none
         probe out
         probe mul"#,
        2,
    );
}
