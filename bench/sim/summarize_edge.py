#!/usr/bin/env python3
"""Summarizes bench/sim/edge_study.sh: goodput @90% per policy and workload with 95% intervals,
epara's ratio to the strongest baseline and whether the intervals separate (edge.md, edge.json)."""
import json
import os
import sys

out = sys.argv[1]
table = []
for wl in sorted(os.listdir(out)):
    path = os.path.join(out, wl, "report.json")
    if not os.path.exists(path):
        continue
    for w in json.load(open(path))["workloads"]:
        pols = {p["policy"]: p for p in w["policies"]}
        lowest = min(s["rate"] for p in w["policies"] for s in p["sweep"])
        row = {"workload": w["workload"], "lowest_rate": lowest, "policies": {}}
        for name, p in pols.items():
            row["policies"][name] = {"goodput90": p["goodput90"], "ci95": p["goodput90_ci95"],
                                     "limit_reached": p["limit_reached"],
                                     "met_90_at_lowest": p["sweep"][0]["attainment"] >= 0.9}
        base = {k: v for k, v in row["policies"].items() if k != "epara"}
        strongest = max(base, key=lambda k: base[k]["goodput90"])
        e, s = row["policies"]["epara"], base[strongest]
        row["strongest_baseline"] = strongest
        row["ratio"] = e["goodput90"] / s["goodput90"] if s["goodput90"] > 0 else None
        row["intervals_separate"] = e["ci95"][0] > s["ci95"][1]
        table.append(row)
json.dump(table, open(os.path.join(out, "edge.json"), "w"), indent=1)
names = ["epara", "clockwork-like", "nexus-like", "galaxy-like", "alpaserve-like", "triton-like",
         "replicate-rr", "local-only"]
with open(os.path.join(out, "edge.md"), "w") as f:
    f.write("# Goodput @90% on the published-ratio edge testbed (bench/sim/edge_study.sh)\n\n")
    f.write("Mean of 3 repeats per rate [95% t interval], req/s. `>=`: met 90% at every swept rate "
            "(a bound); `<`: missed 90% already at the lowest swept rate (0.25 req/s).\n\n")
    f.write("| workload | " + " | ".join(names) + " | epara / strongest | separate |\n")
    f.write("|---" * (len(names) + 3) + "|\n")
    for r in table:
        cells = []
        for n in names:
            p = r["policies"].get(n)
            if p is None:
                cells.append("-")
            elif not p["met_90_at_lowest"] and p["goodput90"] == 0:
                cells.append(f"< {r['lowest_rate']:g}")
            else:
                s = f"{p['goodput90']:.2f} [{p['ci95'][0]:.2f}, {p['ci95'][1]:.2f}]"
                cells.append(s if p["limit_reached"] else ">= " + s)
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x ({r['strongest_baseline']})"
        f.write(f"| {r['workload']} | " + " | ".join(cells) +
                f" | {ratio} | {'yes' if r['intervals_separate'] else 'no'} |\n")
print(open(os.path.join(out, "edge.md")).read())
