//! The convolution's reverse mode, for training: given the gradient of the loss with respect to
//! a convolution's output, the gradients with respect to its input and its kernel. The same
//! geometry (taps, groups, padding, transposition) as the forward kernel, so the two cannot
//! disagree about which input meets which kernel value.

use super::ConvGeometry;

impl ConvGeometry {
    /// `dx += ∂L/∂x` and `dk += ∂L/∂kernel` for `y += conv(x)` with `kernel` (flattened
    /// `kernel_size + (kci, kco)` in C order), given `dy = ∂L/∂y`. `dx` or `dk` may be empty
    /// to skip that gradient. An error when a length is not the geometry's.
    pub fn backward(
        &self,
        kernel: &[f64],
        x: &[f64],
        dy: &[f64],
        dx: &mut [f64],
        dk: &mut [f64],
    ) -> Result<(), String> {
        let klen = self.k_hw[0] * self.k_hw[1] * self.kci * self.kco;
        if x.len() != self.input_len()
            || dy.len() != self.output_len()
            || kernel.len() != klen
            || (!dx.is_empty() && dx.len() != x.len())
            || (!dk.is_empty() && dk.len() != klen)
        {
            return Err("convolution gradient: buffers do not match the geometry".to_string());
        }
        let (want_dx, want_dk) = (!dx.is_empty(), !dk.is_empty());
        if self.transpose {
            for yh in 0..self.out_hw[0] {
                for yw in 0..self.out_hw[1] {
                    self.reach(yh, yw, |kh, kw, xh, xw| {
                        for ci in 0..self.cin {
                            let xi = self.idx(self.in_hw, self.cin, xh, xw, ci);
                            let base = self.kidx(kh, kw, ci);
                            for co in 0..self.cout {
                                let g = dy[self.idx(self.out_hw, self.cout, yh, yw, co)];
                                if want_dx {
                                    dx[xi] += g * kernel[base + co];
                                }
                                if want_dk {
                                    dk[base + co] += g * x[xi];
                                }
                            }
                        }
                    });
                }
            }
            return Ok(());
        }
        let cin_g = self.cin / self.groups;
        let cout_g = self.cout / self.groups;
        for oh in 0..self.out_hw[0] {
            for ow in 0..self.out_hw[1] {
                self.taps_of(oh, ow, |kh, kw, ih, iw| {
                    let kb = self.kidx(kh, kw, 0);
                    for grp in 0..self.groups {
                        for ci in 0..cin_g {
                            let c = grp * cin_g + ci;
                            let xi = self.idx(self.in_hw, self.cin, ih, iw, c);
                            let base = kb + ci * self.kco + grp * cout_g;
                            let mut acc = 0.0;
                            for k in 0..cout_g {
                                let co = grp * cout_g + k;
                                let g = dy[self.idx(self.out_hw, self.cout, oh, ow, co)];
                                acc += g * kernel[base + k];
                                if want_dk {
                                    dk[base + k] += g * x[xi];
                                }
                            }
                            if want_dx {
                                dx[xi] += acc;
                            }
                        }
                    }
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Conv, ConvGeometry, ConvSpec};
    use ndarray::{ArrayD, IxDyn};

    fn spec(transpose: bool, groups: usize) -> ConvSpec {
        let (cin, cout) = (4, 6);
        let kci = if transpose { cin } else { cin / groups };
        let n = 3 * 2 * kci * cout;
        let kernel = ArrayD::from_shape_vec(
            IxDyn(&[3, 2, kci, cout]),
            (0..n).map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.4).collect(),
        )
        .unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0])));
        let (input_shape, output_shape) = if transpose {
            (vec![3, 3, cin], vec![7, 5, cout])
        } else {
            (vec![7, 5, cin], vec![3, 4, cout])
        };
        ConvSpec {
            transpose,
            input_shape,
            output_shape,
            kernel,
            strides: vec![2, 1],
            pad_before: vec![0, 1],
            channels_last: true,
            groups,
        }
    }

    /// The loss `sum(w * conv(x))`: its gradients by finite differences against `backward`.
    fn check(spec: &ConvSpec) {
        let g = ConvGeometry::new(spec).expect("geometry");
        let x: Vec<f64> = (0..g.input_len()).map(|i| ((i * 31) % 17) as f64 / 17.0 - 0.5).collect();
        let w: Vec<f64> = (0..g.output_len()).map(|i| ((i * 11) % 5) as f64 - 2.0).collect();
        let kernel: Vec<f64> = spec.kernel.iter().copied().collect();
        let loss = |x: &[f64], k: &[f64]| {
            let mut s = spec.clone();
            s.kernel = ArrayD::from_shape_vec(spec.kernel.raw_dim(), k.to_vec()).expect("shape");
            let conv = Conv::<f64>::new(&s, false).expect("conv");
            let mut y = vec![0.0; g.output_len()];
            let mut acc = vec![0.0; conv.scratch_len()];
            conv.apply(x, &mut y, &mut acc, true).expect("apply");
            y.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut dx = vec![0.0; x.len()];
        let mut dk = vec![0.0; kernel.len()];
        g.backward(&kernel, &x, &w, &mut dx, &mut dk).expect("backward");
        let h = 1e-6;
        for i in 0..x.len() {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += h;
            xm[i] -= h;
            let fd = (loss(&xp, &kernel) - loss(&xm, &kernel)) / (2.0 * h);
            assert!((fd - dx[i]).abs() < 1e-6, "dx[{i}]: {fd} vs {}", dx[i]);
        }
        for i in 0..kernel.len() {
            let (mut kp, mut km) = (kernel.clone(), kernel.clone());
            kp[i] += h;
            km[i] -= h;
            let fd = (loss(&x, &kp) - loss(&x, &km)) / (2.0 * h);
            assert!((fd - dk[i]).abs() < 1e-6, "dk[{i}]: {fd} vs {}", dk[i]);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        check(&spec(false, 1));
        check(&spec(false, 2));
        check(&spec(true, 1));
    }
}
