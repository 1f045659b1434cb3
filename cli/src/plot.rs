//! `snnc plot`: figures from a run's probe file — the input image, a layer's activity over time
//! (sampled neurons) and the output over time, one row per batch element, as PNG or SVG. Each
//! probe is drawn at its sample times (the file's metadata, written by `snnc run`, gives the
//! time step and each probe's `sample_every`), spike probes as rasters, lines with legends.

use ndarray::{ArrayD, Axis, IxDyn};
use plotters::coord::Shift;
use plotters::prelude::*;
use snn_io::output::Staged;
use snn_io::{read_npy, read_npz, read_npz_comment};
use std::path::{Path, PathBuf};

/// Options of `snnc plot`.
pub struct PlotConfig {
    /// The `.npz` written by `snnc run`.
    pub data: PathBuf,
    /// The figure to write (`.png` or `.svg`).
    pub output: PathBuf,
    /// Probes to draw, in order (empty: every probe in the file).
    pub probes: Vec<String>,
    /// The input images, `(batch, H, W[, C])` or `(batch, H*W)`, drawn in the first column.
    pub image: Option<PathBuf>,
    /// Batch elements to draw, one row each.
    pub indices: Vec<usize>,
    /// At most this many neurons are drawn per probe (evenly spaced, as the notebook samples).
    pub neurons: usize,
    /// Time step in seconds, for the time axis of a file without `snnc run`'s metadata
    /// (default 1 ms); a file with it is drawn at its own sample times.
    pub dt: Option<f64>,
}

/// How one probe was sampled: its time step and period, and whether it holds spikes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Time step of the run (s).
    pub dt: f64,
    /// Steps between samples (`sample_every`); sample `k` is at `(k + 1) * every * dt`.
    pub every: usize,
    /// Whether the probe records a spiking population's output (drawn as a raster).
    pub spikes: bool,
}

/// The sampling of each probe as `snnc run` records it in the `.npz` comment
/// (`run::probe_metadata`); empty for files without it.
pub fn read_sampling(comment: &str) -> std::collections::BTreeMap<String, Sampling> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(v) = serde_json::from_str::<serde_json::Value>(comment) else { return out };
    let meta = &v["snnc_probes"];
    let Some(dt) = meta["dt"].as_f64().filter(|d| *d > 0.0 && d.is_finite()) else { return out };
    if let Some(probes) = meta["probes"].as_object() {
        for (name, p) in probes {
            let every = p["every"].as_u64().filter(|e| *e >= 1).unwrap_or(1) as usize;
            let spikes = p["spikes"].as_bool().unwrap_or(false);
            out.insert(name.clone(), Sampling { dt, every, spikes });
        }
    }
    out
}

/// The most panels (rows × columns) one figure holds: 400 panels of 420 × 300 pixels are about
/// 50 million pixels (150 MB as RGB), where thousands would not fit in memory.
pub const MAX_PANELS: usize = 400;

/// The shortest time axis drawn (s): below it the axis' ticks are not representable.
const MIN_TIME_AXIS: f64 = 1e-300;

/// The first item of `items` given again, if any.
fn repeated<T: Ord>(items: &[T]) -> Option<&T> {
    let mut seen = std::collections::BTreeSet::new();
    items.iter().find(|x| !seen.insert(*x))
}

const PANEL_W: u32 = 420;
const PANEL_H: u32 = 300;
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Draw the figure described by `cfg`; errors are plain messages.
pub fn plot(cfg: &PlotConfig) -> Result<String, String> {
    let data = read_npz(&cfg.data).map_err(|e| e.to_string())?;
    let recorded = read_sampling(&read_npz_comment(&cfg.data).unwrap_or_default());
    if let Some(dt) = cfg.dt {
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(format!(
                "--dt must be a positive number of seconds, found {}",
                snn_syntax::diag::number(dt)
            ));
        }
        if let Some(s) = recorded.values().find(|s| s.dt != dt) {
            return Err(format!(
                "--dt {} disagrees with the time step the run recorded in {} ({} s); leave --dt out",
                snn_syntax::diag::number(dt),
                cfg.data.display(),
                snn_syntax::diag::number(s.dt)
            ));
        }
    }
    if let Some(name) = repeated(&cfg.probes) {
        return Err(format!(
            "--probe `{name}` is given twice (it would draw the same panels again)"
        ));
    }
    if let Some(i) = repeated(&cfg.indices) {
        return Err(format!("--index {i} is given twice (it would draw the same row again)"));
    }
    let default = Sampling { dt: cfg.dt.unwrap_or(0.001), every: 1, spikes: false };
    let names: Vec<String> =
        if cfg.probes.is_empty() { data.keys().cloned().collect() } else { cfg.probes.clone() };
    let mut probes = Vec::new();
    for name in &names {
        let a = data.get(name).ok_or_else(|| {
            let have: Vec<&str> = data.keys().map(String::as_str).collect();
            if have.is_empty() {
                format!("{} has no probe `{name}` (it has no arrays)", cfg.data.display())
            } else {
                format!(
                    "{} has no probe `{name}` (it has: {})",
                    cfg.data.display(),
                    have.join(", ")
                )
            }
        })?;
        if a.ndim() < 2 {
            return Err(format!(
                "probe `{name}` has shape {:?}; expected (batch, steps, ...) as `snnc run` writes",
                a.shape()
            ));
        }
        probes.push((name.as_str(), a, recorded.get(name).copied().unwrap_or(default)));
    }
    let image = cfg.image.as_deref().map(read_images).transpose()?;
    let batch = probes.first().map(|(_, a, _)| a.shape()[0]).or(image.as_ref().map(|i| i.len()));
    let batch = batch.ok_or("nothing to plot: the file has no probes and no --image is given")?;
    let indices = if cfg.indices.is_empty() { vec![0] } else { cfg.indices.clone() };
    for &i in &indices {
        if i >= batch {
            return Err(format!("--index {i} is out of range: the batch has {batch} element(s)"));
        }
        if let Some(img) = &image {
            if i >= img.len() {
                return Err(format!(
                    "--index {i} is out of range: --image has {} image(s)",
                    img.len()
                ));
            }
        }
    }
    if cfg.neurons == 0 {
        return Err("--neurons must be at least 1".into());
    }
    let cols = probes.len() + usize::from(image.is_some());
    let panels = cols.max(1).saturating_mul(indices.len());
    if panels > MAX_PANELS {
        return Err(format!(
            "the figure would have {} row(s) × {cols} panel(s), more than the {MAX_PANELS} panels \
             one figure holds; pick the probes to draw with --probe NAME (and fewer --index)",
            indices.len()
        ));
    }
    for (name, a, sampling) in &probes {
        let samples = a.shape()[1];
        let t_end = sample_time(samples.max(1) - 1, *sampling);
        if !t_end.is_finite() || t_end < MIN_TIME_AXIS {
            let (what, dt) =
                if t_end.is_finite() { ("short", "larger") } else { ("long", "smaller") };
            return Err(format!(
                "probe `{name}`: its {samples} sample(s) (every {} step(s) of {} s) end at {} s: \
                 a time axis too {what} to draw; the time step (--dt, or the one the run \
                 recorded) must be {dt}",
                sampling.every,
                snn_syntax::diag::number(sampling.dt),
                snn_syntax::diag::number(t_end),
            ));
        }
    }
    for (name, a, _) in probes.iter().filter(|(_, _, s)| !s.spikes) {
        for &i in &indices {
            let (series, picked) = element_series(a, i, cfg)?;
            value_axis(&series, &picked).map_err(|(lo, hi)| {
                format!(
                    "probe `{name}` (batch {i}) holds values from {} to {}, a range too \
                     wide to draw (its width is beyond the largest number); leave it out with \
                     --probe, or draw fewer neurons with --neurons",
                    snn_syntax::diag::number(lo),
                    snn_syntax::diag::number(hi)
                )
            })?;
        }
    }
    // both at most MAX_PANELS, so the products fit in u32
    let size = (PANEL_W * cols.max(1) as u32, PANEL_H * indices.len() as u32);
    let ext = cfg.output.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the embedded font cannot be loaded".to_string())?;
    let read: Vec<PathBuf> = std::iter::once(cfg.data.clone()).chain(cfg.image.clone()).collect();
    crate::output::check(&read, &[&cfg.output])?;
    crate::output::check_directories(&[&cfg.output])?;
    let staged = match ext.as_deref() {
        Some("svg" | "png") => Staged::new(&cfg.output).map_err(|e| e.to_string())?,
        _ => {
            return Err(format!(
                "cannot tell the figure format of {}: use a .png or .svg file name",
                cfg.output.display()
            ))
        }
    };
    let tmp = staged.path().to_path_buf();
    let res = match ext.as_deref() {
        Some("svg") => {
            let root = SVGBackend::new(&tmp, size).into_drawing_area();
            draw(&root, &probes, image.as_deref(), &indices, cfg)
                .and_then(|_| root.present().map_err(|e| e.to_string()))
        }
        Some("png") => {
            let root = BitMapBackend::new(&tmp, size).into_drawing_area();
            draw(&root, &probes, image.as_deref(), &indices, cfg)
                .and_then(|_| root.present().map_err(|e| e.to_string()))
        }
        _ => {
            return Err(format!(
                "cannot tell the figure format of {}: use a .png or .svg file name",
                cfg.output.display()
            ))
        }
    };
    let res = res.map_err(|e| format!("cannot write {}: {e}", cfg.output.display()));
    let gaps: Vec<String> = probes
        .iter()
        .filter(|(_, _, sampling)| !sampling.spikes)
        .filter_map(|(name, a, _)| {
            let n = indices
                .iter()
                .map(|&i| a.index_axis(Axis(0), i).iter().filter(|v| !v.is_finite()).count())
                .sum::<usize>();
            (n > 0).then(|| {
                format!("\nnote: probe `{name}` has {n} NaN or infinite value(s), drawn as gaps")
            })
        })
        .collect();
    match res.and_then(|_| staged.commit().map_err(|e| e.to_string())) {
        Ok(()) => Ok(format!(
            "wrote {} ({} row(s) × {} panel(s)){}",
            cfg.output.display(),
            indices.len(),
            cols,
            gaps.concat()
        )),
        Err(e) => Err(e),
    }
}

/// One grey-level (or RGB) image per batch element: (height, width, channels, values 0..1).
struct Image {
    h: usize,
    w: usize,
    c: usize,
    pixels: Vec<f64>,
}

fn read_images(path: &Path) -> Result<Vec<Image>, String> {
    let a = read_npy(path).map_err(|e| e.to_string())?;
    let shape = a.shape().to_vec();
    let (h, w, c) = match shape.as_slice() {
        [_, n] => {
            let side = (*n as f64).sqrt().round() as usize;
            if side * side != *n {
                return Err(format!(
                    "{}: images of shape {:?} are flat but {n} is not a square; save them as \
                     (batch, height, width[, channels])",
                    path.display(),
                    shape
                ));
            }
            (side, side, 1)
        }
        [_, h, w] => (*h, *w, 1),
        [_, h, w, c] if *c == 1 || *c == 3 => (*h, *w, *c),
        _ => {
            return Err(format!(
                "{}: expected images of shape (batch, height, width[, 1 or 3]), found {:?}",
                path.display(),
                shape
            ))
        }
    };
    let lo = a.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = a.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let flat = a.into_shape_with_order(IxDyn(&[shape[0], h * w * c])).map_err(|e| e.to_string())?;
    Ok(flat
        .axis_iter(Axis(0))
        .map(|row| Image {
            h,
            w,
            c,
            pixels: row.iter().map(|v| if v.is_finite() { (v - lo) / span } else { 0.0 }).collect(),
        })
        .collect())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    probes: &[(&str, &ArrayD<f64>, Sampling)],
    image: Option<&[Image]>,
    indices: &[usize],
    cfg: &PlotConfig,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let cols = probes.len() + usize::from(image.is_some());
    let cells = root.split_evenly((indices.len(), cols.max(1)));
    for (row, &i) in indices.iter().enumerate() {
        let mut col = 0;
        if let Some(images) = image {
            draw_image(&cells[row * cols], &images[i], i)?;
            col += 1;
        }
        for (name, a, sampling) in probes {
            if sampling.spikes {
                draw_raster(&cells[row * cols + col], name, a, i, *sampling, cfg)?;
            } else {
                draw_traces(&cells[row * cols + col], name, a, i, *sampling, cfg)?;
            }
            col += 1;
        }
    }
    Ok(())
}

fn draw_image<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    img: &Image,
    index: usize,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    // square pixels: centre a box of the image's aspect ratio (the caption takes ~30 px)
    let (w, h) = area.dim_in_pixel();
    let box_h = h.saturating_sub(30);
    let box_w = ((box_h as f64) * img.w as f64 / img.h.max(1) as f64).min(w as f64) as u32;
    let side = (w.saturating_sub(box_w) / 2) as i32;
    let area = area.margin(0, 0, side, side);
    let mut chart = ChartBuilder::on(&area)
        .caption(format!("input (batch {index})"), ("sans-serif", 16))
        .margin(10)
        .build_cartesian_2d(0..img.w as i32, img.h as i32..0)
        .map_err(e)?;
    chart
        .draw_series((0..img.h).flat_map(|y| {
            (0..img.w).map(move |x| {
                let p = |k: usize| {
                    (255.0 * img.pixels[(y * img.w + x) * img.c + k].clamp(0.0, 1.0)) as u8
                };
                let color = if img.c == 3 {
                    RGBColor(p(0), p(1), p(2))
                } else {
                    RGBColor(p(0), p(0), p(0))
                };
                Rectangle::new([(x as i32, y as i32), (x as i32 + 1, y as i32 + 1)], color.filled())
            })
        }))
        .map_err(e)?;
    Ok(())
}

/// Sample `s` (from 0) of a probe is at this time.
pub fn sample_time(s: usize, sampling: Sampling) -> f64 {
    (s + 1) as f64 * sampling.every as f64 * sampling.dt
}

/// Batch element `index` of probe `a` as `(samples, values)` and the values drawn.
fn element_series(
    a: &ArrayD<f64>,
    index: usize,
    cfg: &PlotConfig,
) -> Result<(ndarray::Array2<f64>, Vec<usize>), String> {
    let steps = a.shape()[1];
    let n: usize = a.shape()[2..].iter().product();
    let series = a
        .index_axis(Axis(0), index)
        .to_owned()
        .into_shape_with_order((steps, n))
        .map_err(|e| e.to_string())?;
    Ok((series, sample_neurons(n, cfg.neurons)))
}

/// A spike probe as a raster: a tick at each sample time where a drawn neuron spiked.
fn draw_raster<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    a: &ArrayD<f64>,
    index: usize,
    sampling: Sampling,
    cfg: &PlotConfig,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (series, picked) = element_series(a, index, cfg)?;
    let (samples, n) = series.dim();
    let t_end = sample_time(samples.max(1) - 1, sampling);
    let caption = if picked.len() < n {
        format!("{name} spikes (batch {index}, {} of {n})", picked.len())
    } else {
        format!("{name} spikes (batch {index})")
    };
    let rows = picked.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..t_end, 0.0..rows)
        .map_err(e)?;
    let labels: Vec<usize> = picked.clone();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time (s)")
        .y_desc("neuron")
        .y_labels(picked.len().clamp(1, 10))
        .y_label_formatter(&|y| labels.get(*y as usize).map_or(String::new(), |k| k.to_string()))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(e)?;
    for (r, &k) in picked.iter().enumerate() {
        let ticks = (0..samples).filter(|&s| series[[s, k]] != 0.0).map(|s| {
            let t = sample_time(s, sampling);
            PathElement::new(vec![(t, r as f64 + 0.1), (t, r as f64 + 0.9)], BLACK.stroke_width(1))
        });
        chart.draw_series(ticks).map_err(e)?;
    }
    Ok(())
}

fn draw_traces<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    a: &ArrayD<f64>,
    index: usize,
    sampling: Sampling,
    cfg: &PlotConfig,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (series, picked) = element_series(a, index, cfg)?;
    let (steps, n) = series.dim();
    let (lo, hi) = value_axis(&series, &picked).map_err(|(lo, hi)| {
        format!(
            "values from {} to {} are too far apart to draw",
            snn_syntax::diag::number(lo),
            snn_syntax::diag::number(hi)
        )
    })?;
    let t_end = sample_time(steps.max(1) - 1, sampling);
    let caption = if picked.len() < n {
        format!("{name} (batch {index}, {} of {n})", picked.len())
    } else {
        format!("{name} (batch {index})")
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..t_end, lo..hi)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time (s)")
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(e)?;
    for (c, &k) in picked.iter().enumerate() {
        let color = Palette99::pick(c).stroke_width(1);
        // NaN and infinite samples are gaps: each finite run is its own line.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for s in 0..steps {
            let v = series[[s, k]];
            match runs.last_mut() {
                Some(run) if v.is_finite() => run.push((sample_time(s, sampling), v)),
                Some(run) if !run.is_empty() => runs.push(Vec::new()),
                _ => {}
            }
        }
        for run in runs.iter().skip(1).filter(|r| !r.is_empty()) {
            chart.draw_series(LineSeries::new(run.iter().copied(), color)).map_err(e)?;
        }
        let first = runs.swap_remove(0);
        chart
            .draw_series(LineSeries::new(first, color))
            .map_err(e)?
            .label(format!("[{k}]"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], Palette99::pick(c).stroke_width(2))
            });
    }
    if !picked.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 11))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}

/// The value axis of the neurons `picked` of `series` (samples × neurons): their finite values'
/// range with a 5% margin each side (`0..1` when there are none); `Err((lo, hi))`, the values'
/// range, when the axis would be too wide for plotters, whose ticks need a finite width.
fn value_axis(series: &ndarray::Array2<f64>, picked: &[usize]) -> Result<(f64, f64), (f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &k in picked {
        for &v in series.column(k) {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if lo > hi {
        return Ok((0.0, 1.0));
    }
    if lo == hi {
        // a margin of 0.5 is lost on values beyond 2^53: scale it with them (finite: 5% of
        // one finite number)
        let m = if lo.abs() > 1e15 { lo.abs() * 0.05 } else { 0.5 };
        return Ok((lo - m, hi + m));
    }
    let pad = 0.05 * (hi - lo);
    let (a, b) = (lo - pad, hi + pad);
    if a.is_finite() && b.is_finite() && (b - a).is_finite() {
        Ok((a, b))
    } else {
        Err((lo, hi))
    }
}

/// `min(n, k)` neuron indices spread evenly over `0..n` (NumPy's `linspace(0, n, k, endpoint=False)`
/// truncated to integers, as the keras-to-snn notebook samples neurons).
pub fn sample_neurons(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    (0..k).map(|i| (i as f64 * n as f64 / k as f64) as usize).collect()
}
