//! Algebraic loops: a cycle of connections that all have `synapse none` cannot be scheduled
//! (every object computes its output in the same step as its input).

use crate::model::Model;
use snn_syntax::{codes, Diagnostic};

/// One diagnostic per strongly connected group of same-step connections that forms a cycle.
pub(crate) fn algebraic_loops(model: &Model) -> Vec<Diagnostic> {
    let n = model.objects.len();
    // Same-step edges: (from, to, connection index).
    let mut adj: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (ci, c) in model.connections.iter().enumerate() {
        if c.synapse.is_none() {
            adj[c.pre.obj.0 as usize].push((c.post.obj.0 as usize, ci));
        }
    }
    let comps = tarjan(&adj);
    let mut res = Vec::new();
    for comp in comps {
        let self_loop = comp.len() == 1 && adj[comp[0]].iter().any(|(to, _)| *to == comp[0]);
        if comp.len() < 2 && !self_loop {
            continue;
        }
        let cycle = find_cycle(&adj, &comp);
        let Some(&first) = cycle.first() else { continue };
        let names: Vec<String> = cycle
            .iter()
            .map(|&ci| model.object(model.connections[ci].pre.obj).name.clone())
            .collect();
        let mut shown = names.clone();
        shown.push(names[0].clone());
        let mut d = Diagnostic::error(
            codes::ALGEBRAIC_LOOP,
            format!("algebraic loop: {} with no synapse", shown.join(" → ")),
            model.connections[first].span,
            "this connection has `synapse none`",
        );
        for &ci in &cycle[1..] {
            d = d.with_label(model.connections[ci].span, "and so does this one");
        }
        d = d.with_help("every connection in a cycle is computed in the same step; give one of them a synapse (`synapse 0` is a pure one-step delay)");
        res.push(d);
    }
    res
}

/// A cycle through the component, as connection indices in order.
fn find_cycle(adj: &[Vec<(usize, usize)>], comp: &[usize]) -> Vec<usize> {
    let start = comp[0];
    let in_comp = |v: usize| comp.contains(&v);
    // Breadth-first search back to start, within the component.
    let mut prev: Vec<Option<(usize, usize)>> = vec![None; adj.len()];
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = vec![false; adj.len()];
    seen[start] = true;
    while let Some(v) = queue.pop_front() {
        for &(w, ci) in &adj[v] {
            if w == start {
                let mut path = vec![ci];
                let mut cur = v;
                while let Some((p, pci)) = prev[cur] {
                    path.push(pci);
                    cur = p;
                }
                path.reverse();
                return path;
            }
            if in_comp(w) && !seen[w] {
                seen[w] = true;
                prev[w] = Some((v, ci));
                queue.push_back(w);
            }
        }
    }
    Vec::new()
}

/// Strongly connected components (iterative Tarjan), each in discovery order.
fn tarjan(adj: &[Vec<(usize, usize)>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comps = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut ei)) = work.last_mut() {
            if *ei == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&(w, _)) = adj[v].get(*ei) {
                *ei += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comp.reverse();
                comps.push(comp);
            }
        }
    }
    comps
}
