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
    /// Per population that runs on the host, the first of its spike slots in the emulator's
    /// arrays (after every compartment): the host sets them before each step.
    pub host_base: Vec<Option<usize>>,
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
        let mut host_base = Vec::with_capacity(net.populations.len());
        for p in &net.populations {
            host_base.push(p.host.then_some(at));
            if p.host {
                at += p.n;
            }
        }
        Ok(Chip { net, discrete, base, host_base })
    }

    /// Compartments over all blocks.
    pub fn n_compartments(&self) -> usize {
        self.net.blocks.iter().map(|b| b.n).sum()
    }

    /// Compartments plus host spike slots: the emulator's source indices.
    pub fn n_sources(&self) -> usize {
        self.n_compartments()
            + self.net.populations.iter().filter(|p| p.host).map(|p| p.n).sum::<usize>()
    }

    /// The emulator indices of population `pop`'s compartments (or host spike slots), in
    /// order.
    pub fn population_index(&self, pop: usize) -> Vec<usize> {
        if let Some(Some(b)) = self.host_base.get(pop) {
            return (*b..*b + self.net.populations[pop].n).collect();
        }
        let mut out = vec![0; self.net.populations[pop].n];
        for &b in &self.net.populations[pop].blocks {
            for (j, &c) in self.net.blocks[b].members.iter().enumerate() {
                out[c] = self.base[b] + j;
            }
        }
        out
    }
}
