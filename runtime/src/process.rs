//! Input processes of Nengo 3.2: `WhiteNoise`, the band-limited `WhiteSignal` and `PresentInput`.
//!
//! Time follows Nengo: step `k` (1-based) is at `t = k * dt`. Random processes draw from ChaCha
//! streams seeded explicitly; they reproduce Nengo's statistics (mean, rms, band limit), not
//! NumPy's exact random numbers.

use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;
use serde::{Deserialize, Serialize};

/// What can go wrong when configuring a process.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum ProcessError {
    /// A parameter outside its valid range.
    #[error("{process}: `{name}` = {value} {reason}")]
    BadParameter {
        /// Nengo name of the process.
        process: &'static str,
        /// Parameter name as in Nengo.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What it should be.
        reason: &'static str,
    },
    /// `high` below `1 / period`: no frequency would survive.
    #[error("WhiteSignal: high = {high} Hz must be >= 1 / period = {min} Hz to produce a non-zero signal")]
    HighTooLow {
        /// The cut-off given.
        high: f64,
        /// `1 / period`.
        min: f64,
    },
    /// `high` above the Nyquist frequency `0.5 / dt`.
    #[error("WhiteSignal: high = {high} Hz must not exceed the Nyquist frequency {nyquist:.3} Hz for dt = {dt}")]
    HighAboveNyquist {
        /// The cut-off given.
        high: f64,
        /// `0.5 / dt`.
        nyquist: f64,
        /// The time step.
        dt: f64,
    },
    /// `PresentInput` with no inputs.
    #[error("PresentInput: needs at least one input")]
    NoInputs,
}

fn check(
    process: &'static str,
    name: &'static str,
    value: f64,
    ok: bool,
    reason: &'static str,
) -> Result<(), ProcessError> {
    if ok {
        Ok(())
    } else {
        Err(ProcessError::BadParameter { process, name, value, reason })
    }
}

fn check_dt(process: &'static str, dt: f64) -> Result<(), ProcessError> {
    check(process, "dt", dt, dt.is_finite() && dt > 0.0, "must be finite and > 0")
}

/// Times of steps `1..=steps`: `k * dt`, as Nengo's `Simulator.trange()`.
pub fn trange(steps: usize, dt: f64) -> Vec<f64> {
    (1..=steps).map(|k| k as f64 * dt).collect()
}

/// Full-spectrum Gaussian white noise (Nengo's `WhiteNoise(dist=Gaussian(mean, std), scale)`);
/// with `scale` each sample is multiplied by `1 / sqrt(dt)` so its integral does not depend on dt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhiteNoise {
    /// Mean of the Gaussian.
    pub mean: f64,
    /// Standard deviation of the Gaussian.
    pub std: f64,
    /// Multiply samples by `1 / sqrt(dt)`.
    pub scale: bool,
    /// Seed of the ChaCha stream.
    pub seed: u64,
}

impl WhiteNoise {
    /// Standard normal noise, scaled, with the given seed (Nengo's defaults).
    pub fn new(seed: u64) -> Self {
        Self { mean: 0.0, std: 1.0, scale: true, seed }
    }

    /// Checks `std >= 0` and finite parameters.
    pub fn validate(&self) -> Result<(), ProcessError> {
        check("WhiteNoise", "mean", self.mean, self.mean.is_finite(), "must be finite")?;
        check(
            "WhiteNoise",
            "std",
            self.std,
            self.std.is_finite() && self.std >= 0.0,
            "must be finite and >= 0",
        )
    }

    /// The output at step `k` (any order, repeatable): `out.len()` independent samples.
    /// Parameters that [`WhiteNoise::validate`] rejects give NaN.
    pub fn step(&self, k: u64, dt: f64, out: &mut [f64]) {
        let normal = match Normal::new(self.mean, self.std) {
            Ok(normal) if self.validate().is_ok() && dt.is_finite() && dt > 0.0 => normal,
            _ => {
                out.iter_mut().for_each(|o| *o = f64::NAN);
                return;
            }
        };
        let alpha = 1.0 / dt.sqrt();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(k);
        for o in out.iter_mut() {
            let x: f64 = normal.sample(&mut rng);
            *o = if self.scale { alpha * x } else { x };
        }
    }
}

/// Ideal low-pass white noise (Nengo's `WhiteSignal(period, high, rms=0.5, y0=None)`): equal
/// power at every frequency up to `high`, none above, periodic with `period`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhiteSignal {
    /// The signal repeats after this many seconds.
    pub period: f64,
    /// Cut-off frequency in Hz.
    pub high: f64,
    /// Root-mean-square amplitude.
    pub rms: f64,
    /// If set, each dimension starts (at `t = dt`) at its sample closest to `y0`.
    pub y0: Option<f64>,
    /// Seed of the ChaCha stream.
    pub seed: u64,
}

impl WhiteSignal {
    /// A signal with Nengo's default rms (0.5) and no `y0`.
    pub fn new(period: f64, high: f64, seed: u64) -> Self {
        Self { period, high, rms: 0.5, y0: None, seed }
    }

    /// Checks `period > 0`, `high > 0`, `rms > 0` and `high >= 1 / period`.
    pub fn validate(&self) -> Result<(), ProcessError> {
        let pos = |v: f64| v.is_finite() && v > 0.0;
        check("WhiteSignal", "period", self.period, pos(self.period), "must be finite and > 0")?;
        check("WhiteSignal", "high", self.high, pos(self.high), "must be finite and > 0")?;
        check("WhiteSignal", "rms", self.rms, pos(self.rms), "must be finite and > 0")?;
        if let Some(y0) = self.y0 {
            check("WhiteSignal", "y0", y0, y0.is_finite(), "must be finite")?;
        }
        if self.high < 1.0 / self.period {
            return Err(ProcessError::HighTooLow { high: self.high, min: 1.0 / self.period });
        }
        Ok(())
    }

    /// [`WhiteSignal::validate`], and that `dt` is positive with `high` at most the Nyquist
    /// frequency: what [`WhiteSignal::build`] needs.
    pub fn validate_at(&self, dt: f64) -> Result<(), ProcessError> {
        self.validate()?;
        check_dt("WhiteSignal", dt)?;
        let nyquist = 0.5 / dt;
        if self.high > nyquist {
            return Err(ProcessError::HighAboveNyquist { high: self.high, nyquist, dt });
        }
        Ok(())
    }

    /// Generates one period for `dims` dimensions at time step `dt`, as Nengo's `make_step`:
    /// random complex Fourier coefficients up to `high`, power-corrected, inverse real FFT.
    pub fn build(&self, dims: usize, dt: f64) -> Result<SampledSignal, ProcessError> {
        self.validate_at(dt)?;
        let n_coefficients = (self.period / dt / 2.0).ceil() as usize;
        let n_samples = 2 * n_coefficients;
        let sigma = self.rms * 0.5f64.sqrt();
        let normal = Normal::new(0.0, sigma).map_err(|_| ProcessError::BadParameter {
            process: "WhiteSignal",
            name: "rms",
            value: self.rms,
            reason: "must be finite and > 0",
        })?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);

        // Frequencies of the rfft bins: k / (n_samples dt).
        let bin_width = 1.0 / (n_samples as f64 * dt);
        let zeroed = (0..=n_coefficients).filter(|&k| k as f64 * bin_width > self.high).count();
        let power_correction = (1.0 - zeroed as f64 / n_coefficients as f64).sqrt();
        let gain =
            (n_samples as f64).sqrt() / if power_correction > 0.0 { power_correction } else { 1.0 };

        let mut planner = FftPlanner::<f64>::new();
        let fft = planner.plan_fft_inverse(n_samples);
        let mut signal = Array2::zeros((n_samples, dims));
        let mut spectrum = vec![Complex::new(0.0, 0.0); n_samples];
        for dim in 0..dims {
            let mut coefficients: Vec<Complex<f64>> = (0..=n_coefficients)
                .map(|_| {
                    let im = normal.sample(&mut rng);
                    let re = normal.sample(&mut rng);
                    Complex::new(re, im)
                })
                .collect();
            coefficients[0] = Complex::new(0.0, 0.0);
            coefficients[n_coefficients].im = 0.0;
            for (k, c) in coefficients.iter_mut().enumerate() {
                if k as f64 * bin_width > self.high {
                    *c = Complex::new(0.0, 0.0);
                }
                *c *= gain;
            }
            // Hermitian spectrum for a real inverse transform.
            spectrum[0] = Complex::new(coefficients[0].re, 0.0);
            for k in 1..n_coefficients {
                spectrum[k] = coefficients[k];
                spectrum[n_samples - k] = coefficients[k].conj();
            }
            spectrum[n_coefficients] = Complex::new(coefficients[n_coefficients].re, 0.0);
            fft.process(&mut spectrum);
            let mut column: Vec<f64> = spectrum.iter().map(|c| c.re / n_samples as f64).collect();
            if let Some(y0) = self.y0 {
                let offset = column
                    .iter()
                    .enumerate()
                    .fold((0, f64::INFINITY), |best, (i, &x)| {
                        if (y0 - x).abs() < best.1 {
                            (i, (y0 - x).abs())
                        } else {
                            best
                        }
                    })
                    .0;
                // Sample 1 (t = dt) is the one closest to y0.
                column.rotate_left((offset + n_samples - 1) % n_samples);
            }
            for (dst, src) in signal.column_mut(dim).iter_mut().zip(column) {
                *dst = src;
            }
        }
        Ok(SampledSignal { samples: signal })
    }
}

/// One period of a generated signal; step `k` reads sample `k mod len`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledSignal {
    samples: Array2<f64>,
}

impl SampledSignal {
    /// Writes the output at step `k` (`t = k dt`) into `out`.
    pub fn step(&self, k: u64, out: &mut [f64]) {
        let len = self.samples.nrows();
        if len == 0 {
            return;
        }
        let row = self.samples.row((k % len as u64) as usize);
        for (o, &x) in out.iter_mut().zip(row) {
            *o = x;
        }
    }

    /// All samples, shape `(len, dims)`; sample 0 is the value at `t = 0` (and `t = period`).
    pub fn samples(&self) -> ArrayView2<'_, f64> {
        self.samples.view()
    }
}

/// Presents each input for `presentation_time` seconds in turn, cycling (Nengo's
/// `PresentInput`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresentInput {
    inputs: Array2<f64>,
    presentation_time: f64,
}

impl PresentInput {
    /// `inputs` has one input per entry of axis 0 (each flattened in C order).
    pub fn new(inputs: ArrayViewD<f64>, presentation_time: f64) -> Result<Self, ProcessError> {
        Self::validate(inputs.view(), presentation_time)?;
        let n = inputs.len_of(Axis(0));
        let size = inputs.len() / n;
        let flat: Vec<f64> = inputs.iter().copied().collect();
        let inputs = Array2::from_shape_vec((n, size), flat).map_err(|_| ProcessError::NoInputs)?;
        Ok(Self { inputs, presentation_time })
    }

    /// What [`PresentInput::new`] refuses: a presentation time that is not positive, or no
    /// inputs.
    pub fn validate(inputs: ArrayViewD<f64>, presentation_time: f64) -> Result<(), ProcessError> {
        check(
            "PresentInput",
            "presentation_time",
            presentation_time,
            presentation_time.is_finite() && presentation_time > 0.0,
            "must be finite and > 0",
        )?;
        if inputs.ndim() == 0 || inputs.len_of(Axis(0)) == 0 {
            return Err(ProcessError::NoInputs);
        }
        Ok(())
    }

    /// Number of values per input.
    pub fn size_out(&self) -> usize {
        self.inputs.ncols()
    }

    /// Which input is shown at step `k`: `int((t - dt) / presentation_time + 1e-7) mod n`.
    pub fn index(&self, k: u64, dt: f64) -> usize {
        let t = k as f64 * dt;
        let i = ((t - dt) / self.presentation_time + 1e-7) as i64;
        i.rem_euclid(self.inputs.nrows() as i64) as usize
    }

    /// Writes the output at step `k` (`t = k dt`) into `out`.
    pub fn step(&self, k: u64, dt: f64, out: &mut [f64]) {
        let row = self.inputs.row(self.index(k, dt));
        for (o, &x) in out.iter_mut().zip(row) {
            *o = x;
        }
    }
}

/// A process as declared: stochastic or data-driven node outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProcessSpec {
    /// Gaussian white noise.
    WhiteNoise {
        /// Mean of the Gaussian.
        mean: f64,
        /// Its standard deviation.
        std: f64,
        /// Multiply samples by `1 / sqrt(dt)`.
        scale: bool,
        /// Seed (else the op's).
        seed: Option<u64>,
    },
    /// Band-limited white signal.
    WhiteSignal {
        /// Period of the signal (s).
        period: f64,
        /// Cut-off frequency (Hz).
        high: f64,
        /// RMS of the signal.
        rms: f64,
        /// First value (else random).
        y0: Option<f64>,
        /// Seed (else the op's).
        seed: Option<u64>,
    },
    /// Present each row of `inputs` for `presentation_time`.
    PresentInput {
        /// The inputs, one per row.
        inputs: ArrayD<f64>,
        /// Seconds each input is presented.
        presentation_time: f64,
    },
}

impl ProcessSpec {
    /// What [`ProcessState::new`] would refuse for `n` values per step of `dt`, found without
    /// building anything (the compiler reports it at the node), and the bytes building one
    /// batch element's state takes at its peak (a white signal's sampled period and the
    /// complex spectrum and FFT scratch it is made from), saturating.
    pub fn validate(&self, n: usize, dt: f64) -> Result<u128, ProcessError> {
        match self {
            ProcessSpec::WhiteNoise { mean, std, scale, .. } => {
                let mut w = WhiteNoise::new(0);
                (w.mean, w.std, w.scale) = (*mean, *std, *scale);
                w.validate()?;
                check_dt("WhiteNoise", dt)?;
                Ok(0)
            }
            ProcessSpec::WhiteSignal { period, high, rms, y0, .. } => {
                let mut w = WhiteSignal::new(*period, *high, 0);
                (w.rms, w.y0) = (*rms, *y0);
                w.validate_at(dt)?;
                let samples = (2.0 * (period / dt / 2.0).ceil()).min(1e30) as u128;
                // the signal (8 bytes a value), the spectrum and the FFT's scratch (16 each)
                Ok(samples.saturating_mul((n as u128).saturating_mul(8).saturating_add(48)))
            }
            ProcessSpec::PresentInput { inputs, presentation_time } => {
                PresentInput::validate(inputs.view(), *presentation_time)?;
                Ok((inputs.len() as u128).saturating_mul(8))
            }
        }
    }
}

/// The state of a process for one batch element, what every backend steps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ProcessState {
    /// White noise.
    Noise(WhiteNoise),
    /// A white signal, sampled.
    Signal(SampledSignal),
    /// Presented inputs.
    Present(PresentInput),
}

impl ProcessState {
    /// The state of `spec` writing `n` values per step of `dt`, for batch element `b`: random
    /// processes are seeded with their own seed, else `seed`, plus `b`.
    pub fn new(
        spec: &ProcessSpec,
        n: usize,
        dt: f64,
        seed: u64,
        b: usize,
    ) -> Result<Self, ProcessError> {
        let seed_of = |own: &Option<u64>| own.unwrap_or(seed).wrapping_add(b as u64);
        Ok(match spec {
            ProcessSpec::WhiteNoise { mean, std, scale, seed } => {
                let mut w = WhiteNoise::new(seed_of(seed));
                w.mean = *mean;
                w.std = *std;
                w.scale = *scale;
                ProcessState::Noise(w)
            }
            ProcessSpec::WhiteSignal { period, high, rms, y0, seed } => {
                let mut w = WhiteSignal::new(*period, *high, seed_of(seed));
                w.rms = *rms;
                w.y0 = *y0;
                ProcessState::Signal(w.build(n, dt)?)
            }
            ProcessSpec::PresentInput { inputs, presentation_time } => {
                ProcessState::Present(PresentInput::new(inputs.view(), *presentation_time)?)
            }
        })
    }

    /// The output at step `k` (from 1) into `out`, zeroed first.
    pub fn step(&self, k: u64, dt: f64, out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        match self {
            ProcessState::Noise(w) => w.step(k, dt, out),
            ProcessState::Signal(s) => s.step(k, out),
            ProcessState::Present(p) => p.step(k, dt, out),
        }
    }
}
