//! Classification accuracy of a run: the argmax of an output probe at its last sample against
//! integer labels, for the whole batch (what the keras-to-snn notebook reports).

use ndarray::{ArrayD, Axis};
use snn_io::read_npy;
use std::path::Path;

/// The result of comparing one probe with labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Accuracy {
    /// The probe that was scored.
    pub probe: String,
    /// Batch elements whose argmax equals their label.
    pub correct: usize,
    /// Batch size.
    pub total: usize,
}

impl std::fmt::Display for Accuracy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct =
            if self.total == 0 { 0.0 } else { 100.0 * self.correct as f64 / self.total as f64 };
        write!(
            f,
            "accuracy of `{}` at the last step: {pct:.2}% ({}/{})",
            self.probe, self.correct, self.total
        )
    }
}

/// Parse `--labels [PROBE=]FILE.npy` (split at the first `=`, as `--input` is).
pub fn parse_labels_arg(arg: &str) -> (Option<&str>, &Path) {
    match arg.split_once('=') {
        Some((name, file)) => (Some(name), Path::new(file)),
        None => (None, Path::new(arg)),
    }
}

/// Read labels: `(batch,)` or `(batch, 1)` non-negative integers.
pub fn read_labels(path: &Path) -> Result<Vec<usize>, String> {
    let a = read_npy(path).map_err(|e| e.to_string())?;
    let n = match a.shape() {
        [n] | [n, 1] => *n,
        s => {
            return Err(format!(
                "{}: labels must have shape (batch,) or (batch, 1), found {s:?}",
                path.display()
            ))
        }
    };
    let mut out = Vec::with_capacity(n);
    for (i, &v) in a.iter().enumerate() {
        if !(v >= 0.0 && v.fract() == 0.0 && v < 1e9) {
            return Err(format!(
                "{}: label {i} is {v}; labels are class indices, whole numbers from 0 to 999999999",
                path.display()
            ));
        }
        out.push(v as usize);
    }
    Ok(out)
}

/// Score `probe` (`(batch, samples, *shape)`, as `snnc run` writes it) against `labels`.
pub fn accuracy(name: &str, probe: &ArrayD<f64>, labels: &[usize]) -> Result<Accuracy, String> {
    let shape = probe.shape();
    if shape.len() < 3 || shape[1] == 0 {
        return Err(format!(
            "probe `{name}` has shape {shape:?}; scoring needs (batch, steps, classes)"
        ));
    }
    let (batch, classes) = (shape[0], shape[2..].iter().product::<usize>());
    if labels.len() != batch {
        return Err(format!(
            "the labels have {} entries but the batch has {batch} element(s)",
            labels.len()
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        return Err(format!(
            "label {i} is class {l} but probe `{name}` has only {classes} output(s)"
        ));
    }
    let last = probe.index_axis(Axis(1), shape[1] - 1);
    let mut correct = 0;
    for (b, &label) in labels.iter().enumerate() {
        let row = last.index_axis(Axis(0), b);
        // first maximum, as numpy.argmax; NaN never wins
        let mut best = (0, f64::NEG_INFINITY);
        for (k, &v) in row.iter().enumerate() {
            if v > best.1 {
                best = (k, v);
            }
        }
        if best.0 == label {
            correct += 1;
        }
    }
    Ok(Accuracy { probe: name.to_string(), correct, total: batch })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn scores_the_last_step() {
        // batch 3, 2 steps, 3 classes; step 0 would score 0/3, the last step 2/3
        let v = vec![
            1.0, 0.0, 0.0, /* */ 0.0, 0.0, 5.0, // b0: last argmax 2
            0.0, 1.0, 0.0, /* */ 3.0, 1.0, 0.0, // b1: last argmax 0
            0.0, 0.0, 1.0, /* */ 0.0, 7.0, 7.0, // b2: tie -> first, 1
        ];
        let a = ArrayD::from_shape_vec(IxDyn(&[3, 2, 3]), v).expect("shape");
        let acc = accuracy("out", &a, &[2, 1, 1]).expect("scored");
        assert_eq!((acc.correct, acc.total), (2, 3));
        assert!(accuracy("out", &a, &[2, 1]).is_err());
        assert!(accuracy("out", &a, &[2, 1, 3]).is_err());
    }

    #[test]
    fn labels_argument() {
        assert_eq!(parse_labels_arg("out=l.npy"), (Some("out"), Path::new("l.npy")));
        assert_eq!(parse_labels_arg("data/l.npy"), (None, Path::new("data/l.npy")));
    }
}
