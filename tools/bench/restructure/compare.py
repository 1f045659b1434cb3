"""Compare two tools/bench/run.py result files (before and after a change): steps/s per network
and snnc runner, and the ratio after / before. Usage: compare.py BEFORE.json AFTER.json"""
import json
import sys

before, after = (json.load(open(p)) for p in sys.argv[1:3])
runners = ["snnc_interp", "snnc_jit", "snnc_jit_f32"]
print("| network | " + " | ".join(f"{r} before | after | ratio" for r in runners) + " |")
print("|---|" + "---|---|---|" * len(runners))
worst = (1e9, "")
for nb, na in zip(before["networks"], after["networks"]):
    assert nb["name"] == na["name"]
    cells = []
    for r in runners:
        x = (nb["results"].get(r) or {}).get("steps_per_s")
        y = (na["results"].get(r) or {}).get("steps_per_s")
        if x and y:
            cells.append(f"{x:,.0f} | {y:,.0f} | {y / x:.3f}")
            worst = min(worst, (y / x, f"{nb['name']} {r}"))
        else:
            cells.append("— | — | —")
    print(f"| {nb['name']} | " + " | ".join(cells) + " |")
print(f"\nslowest after/before: {worst[0]:.3f} ({worst[1]})")
