"""Write the connectivity of Brian2's CUBA benchmark for tools/bench/cuba/cuba.snn.

Brian2's examples/CUBA.py (peers.md §3): 4000 LIF neurons (taum 20 ms, Vt -50 mV, Vr -60 mV,
El -49 mV, refractory 5 ms), excitatory synapses from neurons 0..3199 and inhibitory ones from
3200..3999, each pair connected with probability 2%, ge += 1.62 mV (taue 5 ms), gi += -9 mV
(taui 10 ms), 1 s of simulated time.

In Nengo's LIF units the voltage is (v - Vr) / (Vt - Vr): threshold 1, reset 0, rest
(El - Vr) / (Vt - Vr) = 1.1 (the bias), and a synaptic jump of w mV is w / 10 in these units.
A lowpass synapse (tau) turns a spike of area 1 into a jump of 1 / tau, so the weights are
(w / 10 mV) * tau. Writes cuba_weights.npz beside this file (not committed: ~2 MB; the benchmark
script runs this first). Fixed seed, so every run simulates the same network.
"""

import os

import numpy as np

N, N_E = 4000, 3200
P = 0.02
W_E = (60 * 0.27 / 10) / 10 * 0.005  # 1.62 mV, taue 5 ms
W_I = (-20 * 4.5 / 10) / 10 * 0.010  # -9 mV, taui 10 ms


def block(rng, n_pre):
    mask = rng.random_sample((N, n_pre)) < P  # (post, pre), Nengo's transform orientation
    rows, cols = np.nonzero(mask)
    return np.stack([rows, cols], axis=1).astype(np.int32)


def main():
    rng = np.random.RandomState(0)
    ie = block(rng, N_E)
    ii = block(rng, N - N_E)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cuba_weights.npz")
    np.savez_compressed(
        out,
        **{
            "exc/indices": ie,
            "exc/values": np.full(len(ie), W_E, dtype=np.float32),
            "inh/indices": ii,
            "inh/values": np.full(len(ii), W_I, dtype=np.float32),
        },
    )
    print(f"{out}: {len(ie)} excitatory, {len(ii)} inhibitory synapses")


if __name__ == "__main__":
    main()
