//! Splitting populations that do not fit one core (nengo-loihi 1.1 `builder/split_blocks.py`,
//! default block shapes): `n_split` is the largest of compartments / 1024, input axons / 4096,
//! output axon slots / 4096 and synapse bits / 1,048,576 (each rounded up); the population is
//! cut into pieces of `ceil(n / n_split)` compartments; each incoming synapse keeps, per piece,
//! the axons that reach it and their weights onto it. Splitting comes before discretization, so
//! each piece gets its own weight exponent, as in nengo-loihi.

use crate::block::{Block, Net, Synapse};
use crate::config::{
    bits_per_axon, MAX_COMPARTMENTS, MAX_IN_AXONS, MAX_OUT_AXONS, MAX_SYNAPSE_BITS,
};

/// The number of pieces nengo-loihi's default split makes of block `b` of `net`.
pub fn n_split(net: &Net, b: usize) -> usize {
    let block = &net.blocks[b];
    let in_axons: usize = block.synapses.iter().map(|s| s.axons.len()).sum();
    let out_axons: usize = net
        .blocks
        .iter()
        .flat_map(|t| &t.synapses)
        .filter(|s| s.source == block.population)
        .map(|s| s.axon_of.len())
        .sum();
    let bits: usize =
        block.synapses.iter().flat_map(|s| &s.axons).map(|a| bits_per_axon(a.len())).sum();
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

/// Whether every piece of `block` cut into `k` pieces fits a core's input axons and synapse
/// memory (nengo-loihi's rule alone can overflow synapse memory: each axon's weights are
/// stored in 64-weight blocks with a header, so halving the targets does not halve the bits;
/// a 1,500 → 300 dense connection fails to build there).
fn pieces_fit(block: &Block, k: usize) -> bool {
    let size = block.n.div_ceil(k);
    let mut start = 0;
    while start < block.n {
        let end = (start + size).min(block.n);
        let (mut axons, mut bits) = (0usize, 0usize);
        for s in &block.synapses {
            for ws in &s.axons {
                let inside = ws
                    .iter()
                    .filter(|(i, _)| (*i as usize) >= start && (*i as usize) < end)
                    .count();
                if inside > 0 {
                    axons += 1;
                    bits += bits_per_axon(inside);
                }
            }
        }
        if axons > MAX_IN_AXONS || bits > MAX_SYNAPSE_BITS || end - start > MAX_COMPARTMENTS {
            return false;
        }
        start = end;
    }
    true
}

/// The pieces block `b` is cut into: nengo-loihi's `n_split`, raised until every piece fits
/// (`None`: no split fits, e.g. more than 4,096 input axons onto a single compartment).
pub fn pieces(net: &Net, b: usize) -> Option<usize> {
    let block = &net.blocks[b];
    (n_split(net, b)..=block.n.max(1)).find(|&k| pieces_fit(block, k))
}

/// Splits every block of `net` that does not fit one core (blocks must be unsplit: one per
/// population); a block no split fits is left whole (the caller reports it).
pub fn split(net: Net) -> Net {
    let mut blocks = Vec::new();
    let mut populations = net.populations.clone();
    for (bi, block) in net.blocks.iter().enumerate() {
        let k = pieces(&net, bi).unwrap_or(1);
        let pop = block.population;
        populations[pop].blocks.clear();
        if k == 1 {
            populations[pop].blocks.push(blocks.len());
            blocks.push(block.clone());
            continue;
        }
        let size = block.n.div_ceil(k);
        let mut start = 0;
        while start < block.n {
            let end = (start + size).min(block.n);
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
                            .filter(|(i, _)| (*i as usize) >= start && (*i as usize) < end)
                            .map(|&(i, w)| (i - start as u32, w))
                            .collect();
                        if !inside.is_empty() {
                            renum[a] = Some(axons.len());
                            axons.push(inside);
                        }
                    }
                    let axon_of = s.axon_of.iter().map(|a| a.and_then(|a| renum[a])).collect();
                    Synapse { axon_of, axons, ..s.clone() }
                })
                .filter(|s| !s.axons.is_empty())
                .collect();
            populations[pop].blocks.push(blocks.len());
            blocks.push(Block {
                name: format!("{}[{start}:{end}]", block.name),
                n: end - start,
                bias: block.bias[start..end].to_vec(),
                synapses,
                offset: start,
                ..block.clone()
            });
            start = end;
        }
    }
    Net { blocks, populations, ..net }
}
