//! Splitting populations that do not fit one core (nengo-loihi 1.1 `builder/split_blocks.py`,
//! default block shapes): `n_split` is the largest of compartments / 1024, input axons / 4096,
//! output axon slots / 4096 and synapse bits / 1,048,576 (each rounded up); the population is
//! cut into pieces of `ceil(n / n_split)` compartments; each incoming synapse keeps, per piece,
//! the axons that reach it and their weights onto it. Splitting comes before discretization, so
//! each piece gets its own weight exponent, as in nengo-loihi.

use crate::block::{Block, Net, PopLayout, Synapse};
use crate::config::{
    bits_per_axon, bits_per_axon_indexed, MAX_COMPARTMENTS, MAX_IN_AXONS, MAX_OUT_AXONS,
    MAX_SYNAPSE_BITS,
};
use std::collections::{BTreeMap, BTreeSet};

/// The number of pieces nengo-loihi's default split makes of block `b` of `net`.
pub fn n_split(net: &Net, b: usize) -> usize {
    let block = &net.blocks[b];
    let all: Vec<Option<u32>> = (0..block.n as u32).map(Some).collect();
    let costs: Vec<(usize, usize)> = block.synapses.iter().map(|s| synapse_cost(s, &all)).collect();
    let in_axons: usize = costs.iter().map(|c| c.0).sum();
    let out_axons: usize = net
        .blocks
        .iter()
        .flat_map(|t| &t.synapses)
        .filter(|s| s.source == block.population)
        .map(|s| s.axon_of.len())
        .sum();
    let bits: usize = costs.iter().map(|c| c.1).sum();
    [
        block.n.div_ceil(MAX_COMPARTMENTS),
        in_axons.div_ceil(MAX_IN_AXONS),
        out_axons.div_ceil(MAX_OUT_AXONS),
        bits.div_ceil(MAX_SYNAPSE_BITS),
    ]
    .into_iter()
    .max()
    .unwrap_or(1)
    .max(1)
}

/// Input axons and synapse memory bits synapse `s` takes on the core holding the target
/// population's compartments that `local` maps (population index → index on the core).
/// Discrete axons (`pop` unset): one axon per source compartment that reaches the piece, its
/// weights stored without indices (compression 3). Population axons (a convolution,
/// nengo-loihi's `pop16`): one axon per source pixel that reaches the piece, the channel as
/// atom; each pixel's weights form a (channels × targets) array stored once per distinct
/// (weights, targets relative to the base) with index bits (compression 0), as nengo-loihi's
/// `set_new_synapse_weights` shares them.
pub fn synapse_cost(s: &Synapse, local: &[Option<u32>]) -> (usize, usize) {
    if s.alias {
        return (0, 0);
    }
    let at = |i: u32| local.get(i as usize).copied().flatten();
    let Some(layout) = s.pop else {
        // a whole block keeps every axon of the connection, weights or not (nengo-loihi's
        // `Synapse.n_axons`); a piece only those that reach it (`split_synapse`)
        let whole = local.iter().all(Option::is_some);
        let (mut axons, mut bits) = (0, 0);
        for ws in &s.axons {
            let n = ws.iter().filter(|(i, _)| at(*i).is_some()).count();
            if n > 0 || whole {
                axons += 1;
                bits += bits_per_axon(n);
            }
        }
        return (axons, bits);
    };
    // per pixel: per atom, the weights onto targets in the piece
    let mut pixels: BTreeMap<usize, Vec<(usize, u32, f32)>> = BTreeMap::new();
    for (c, a) in s.axon_of.iter().enumerate() {
        let Some(a) = a else { continue };
        let (px, atom) = layout.pixel_atom(c);
        for &(i, w) in &s.axons[*a] {
            if let Some(j) = at(i) {
                pixels.entry(px).or_default().push((atom, j, w));
            }
        }
    }
    let mut unique: BTreeSet<(Vec<u32>, Vec<u32>)> = BTreeSet::new();
    let mut max_ind = 0u32;
    for entries in pixels.values() {
        let mut targets: Vec<u32> = entries.iter().map(|e| e.1).collect();
        targets.sort_unstable();
        targets.dedup();
        let base = targets.first().copied().unwrap_or(0) % 256;
        let mut w = vec![0u32; layout.channels * targets.len()];
        for &(atom, i, x) in entries {
            if let Ok(k) = targets.binary_search(&i) {
                if let Some(slot) = w.get_mut(atom * targets.len() + k) {
                    *slot = x.to_bits();
                }
            }
        }
        let rel: Vec<u32> = targets.iter().map(|t| t - base).collect();
        max_ind = max_ind.max(rel.last().copied().unwrap_or(0));
        unique.insert((rel, w));
    }
    let idx = index_bits(max_ind);
    let bits = unique.iter().map(|(_, w)| bits_per_axon_indexed(w.len(), idx)).sum();
    (pixels.len(), bits)
}

/// nengo-loihi's index bits for compartment indices up to `max_ind` (`INDEX_BITS_MAP`).
fn index_bits(max_ind: u32) -> usize {
    let need = (f64::from(max_ind) + 1.0).log2().ceil() as usize;
    [0, 6, 7, 8, 9, 10, 11, 12].into_iter().find(|&v| v >= need).unwrap_or(12)
}

/// The population-compartment lists of the pieces of a population of `n` compartments:
/// contiguous ranges of `ceil(n / k)`.
fn ranges(n: usize, k: usize) -> Vec<Vec<usize>> {
    let size = n.div_ceil(k.max(1)).max(1);
    (0..n).step_by(size).map(|s| (s..(s + size).min(n)).collect()).collect()
}

/// Spatial tiles `(r, c, f)` of a `[rows, cols, filters]` output (channels last), each tile's
/// compartments in row-major order (nengo-loihi's `BlockShape`).
fn tiles(out: [usize; 3], t: [usize; 3]) -> Vec<Vec<usize>> {
    let [rows, cols, fs] = out;
    let mut v = Vec::new();
    for r0 in (0..rows).step_by(t[0]) {
        for c0 in (0..cols).step_by(t[1]) {
            for f0 in (0..fs).step_by(t[2]) {
                let mut m = Vec::new();
                for r in r0..(r0 + t[0]).min(rows) {
                    for c in c0..(c0 + t[1]).min(cols) {
                        for f in f0..(f0 + t[2]).min(fs) {
                            m.push((r * cols + c) * fs + f);
                        }
                    }
                }
                v.push(m);
            }
        }
    }
    v
}

/// Whether every piece fits a core's compartments, input axons and synapse memory
/// (nengo-loihi's rule alone can overflow synapse memory: each axon's weights are stored in
/// 64-weight blocks with a header, so halving the targets does not halve the bits; a 1,500 →
/// 300 dense connection fails to build there).
fn pieces_fit(block: &Block, pieces: &[Vec<usize>]) -> bool {
    pieces.iter().all(|m| {
        if m.len() > MAX_COMPARTMENTS {
            return false;
        }
        let mut local = vec![None; block.n];
        for (j, &c) in m.iter().enumerate() {
            local[c] = Some(j as u32);
        }
        let (mut axons, mut bits) = (0usize, 0usize);
        for s in &block.synapses {
            let (a, b) = synapse_cost(s, &local);
            axons += a;
            bits += b;
        }
        axons <= MAX_IN_AXONS && bits <= MAX_SYNAPSE_BITS
    })
}

/// The pieces block `b` is cut into (population-compartment lists, one per core): nengo-loihi's
/// `n_split` in contiguous ranges, raised until every piece fits; for a block every input of
/// which is a convolution, also the spatial tiles (rows × cols × filters, as a hand-written
/// nengo-loihi `BlockShape`) with the fewest cores that fit, when they take fewer cores.
/// `None`: no split fits (e.g. more than 4,096 input axons onto a single compartment).
pub fn pieces(net: &Net, b: usize) -> Option<Vec<Vec<usize>>> {
    let block = &net.blocks[b];
    let k0 = n_split(net, b);
    if k0 == 1 {
        let all = vec![(0..block.n).collect::<Vec<_>>()];
        if pieces_fit(block, &all) {
            return Some(all);
        }
    }
    let out = block.synapses.iter().map(|s| s.pop.and_then(|l| l.out)).collect::<Option<Vec<_>>>();
    let mut best: Option<Vec<Vec<usize>>> = None;
    if let Some(out) = out.filter(|o| !o.is_empty() && o.iter().all(|x| *x == o[0])) {
        let [rows, cols, fs] = out[0];
        let mut shapes = Vec::new();
        for r in 1..=rows {
            for c in 1..=cols {
                for f in 1..=fs {
                    if r * c * f <= MAX_COMPARTMENTS && fs % f == 0 {
                        let n = rows.div_ceil(r) * cols.div_ceil(c) * (fs / f);
                        shapes.push((n, std::cmp::Reverse(f), [r, c, f]));
                    }
                }
            }
        }
        shapes.sort();
        for (_, _, t) in shapes.into_iter().take(64) {
            let p = tiles(out[0], t);
            if pieces_fit(block, &p) {
                best = Some(p);
                break;
            }
        }
    }
    let limit = best.as_ref().map_or(block.n.max(1), |b| b.len().saturating_sub(1));
    for k in k0.max(1)..=limit {
        let p = ranges(block.n, k);
        if pieces_fit(block, &p) {
            return Some(p);
        }
    }
    best
}

/// Splits every block of `net` that does not fit one core (blocks must be unsplit: one per
/// population); a block no split fits is left whole (the caller reports it).
pub fn split(net: Net) -> Net {
    let mut blocks = Vec::new();
    let mut populations = net.populations.clone();
    for (bi, block) in net.blocks.iter().enumerate() {
        let parts = pieces(&net, bi).unwrap_or_else(|| vec![(0..block.n).collect()]);
        let pop = block.population;
        populations[pop].blocks.clear();
        if parts.len() == 1 {
            populations[pop].blocks.push(blocks.len());
            blocks.push(block.clone());
            continue;
        }
        for members in parts {
            let mut local = vec![None; block.n];
            for (j, &c) in members.iter().enumerate() {
                local[c] = Some(j as u32);
            }
            let synapses = block
                .synapses
                .iter()
                .map(|s| {
                    // the axons whose targets overlap the piece, renumbered in order
                    let mut renum = vec![None; s.axons.len()];
                    let mut axons = Vec::new();
                    for (a, ws) in s.axons.iter().enumerate() {
                        let inside: Vec<(u32, f32)> = ws
                            .iter()
                            .filter_map(|&(i, w)| local[i as usize].map(|j| (j, w)))
                            .collect();
                        if !inside.is_empty() {
                            renum[a] = Some(axons.len());
                            axons.push(inside);
                        }
                    }
                    let axon_of = s.axon_of.iter().map(|a| a.and_then(|a| renum[a])).collect();
                    let pop = s.pop.map(|l| PopLayout { out: None, ..l });
                    Synapse { axon_of, axons, pop, ..s.clone() }
                })
                .filter(|s| !s.axons.is_empty())
                .collect();
            let start = members.first().copied().unwrap_or(0);
            let end = members.last().map_or(0, |l| l + 1);
            let contiguous = end - start == members.len();
            populations[pop].blocks.push(blocks.len());
            blocks.push(Block {
                name: if contiguous {
                    format!("{}[{start}:{end}]", block.name)
                } else {
                    format!("{}[tile {}]", block.name, populations[pop].blocks.len() - 1)
                },
                n: members.len(),
                bias: members.iter().map(|&c| block.bias[c]).collect(),
                synapses,
                offset: start,
                members,
                ..block.clone()
            });
        }
    }
    Net { blocks, populations, ..net }
}
