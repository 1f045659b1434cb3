//! A discretized network: the float [`Net`] with each block's integers ([`DBlock`]) and its
//! compartments' place in the emulator's arrays.

use crate::block::Net;
use crate::discretize::{discretize_block, DBlock, DiscretizeError};

/// The network after splitting and discretization.
#[derive(Clone, Debug)]
pub struct Chip {
    /// The float blocks (after splitting).
    pub net: Net,
    /// Per block, its integers.
    pub discrete: Vec<DBlock>,
    /// Per block, its first compartment in the emulator's arrays.
    pub base: Vec<usize>,
}

impl Chip {
    /// Discretizes every block of `net` (`discretize_model`).
    pub fn new(net: Net) -> Result<Chip, DiscretizeError> {
        let discrete = net
            .blocks
            .iter()
            .map(|b| discretize_block(b, net.dt))
            .collect::<Result<Vec<_>, _>>()?;
        let mut base = Vec::with_capacity(net.blocks.len());
        let mut at = 0;
        for b in &net.blocks {
            base.push(at);
            at += b.n;
        }
        Ok(Chip { net, discrete, base })
    }

    /// Compartments over all blocks.
    pub fn n_compartments(&self) -> usize {
        self.net.blocks.iter().map(|b| b.n).sum()
    }

    /// The emulator indices of population `pop`'s compartments, in order.
    pub fn population_index(&self, pop: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for &b in &self.net.populations[pop].blocks {
            out.extend(self.base[b]..self.base[b] + self.net.blocks[b].n);
        }
        out
    }
}
