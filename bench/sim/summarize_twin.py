#!/usr/bin/env python3
"""Summarizes bench/sim/twin_study.sh: goodput @90% with and without the twin's gate, deploy steps,
and the twin's predicted vs observed goodput per controller period (twin.md, twin.json)."""
import json
import os
import statistics
import sys

out = sys.argv[1]
rows, errors_all, hindsight_all, table = [], [], [], {}


def load(path):
    with open(path) as f:
        return json.load(f)


def judged(run):
    """The twin's periods inside the offered load with a forecast (as epara sim's note counts)."""
    return run.get("twin", {}).get("periods", [])


for tag in sorted(os.listdir(out)):
    d = os.path.join(out, tag)
    if not os.path.isdir(d) or not os.path.exists(os.path.join(d, "twin", "report.json")):
        continue
    rep = {m: load(os.path.join(d, m, "report.json")) for m in ("plain", "twin")}
    stats = {m: load(os.path.join(d, m, "sim_stats.json")) for m in ("plain", "twin")}
    steps = {m: sum(r["deploy_steps"] for r in stats[m]) for m in stats}
    errs, demand_errs, hind_errs, pred, obs, changed, applied = [], [], [], 0.0, 0.0, 0, 0
    for r in stats["twin"]:
        for p in judged(r):
            errs.append(abs(p["predicted_rps"] - p["observed_rps"]) / p["observed_rps"])
            demand_errs.append(abs(p["offered_rps"] - p["observed_offered_rps"]) /
                               max(1e-9, p["observed_offered_rps"]))
            hind_errs.append(abs(p["hindsight_rps"] - p["observed_rps"]) / p["observed_rps"])
            pred += p["predicted_rps"]
            obs += p["observed_rps"]
        changed += sum(1 for p in r["twin"]["periods"] if p["changed"])
        applied += sum(1 for p in r["twin"]["periods"] if p["applied"])
    errors_all += errs
    hindsight_all += hind_errs
    for wl in rep["plain"]["workloads"]:
        twl = next(w for w in rep["twin"]["workloads"] if w["workload"] == wl["workload"])
        g = {}
        for m, w in (("plain", wl), ("twin", twl)):
            p = next(x for x in w["policies"] if x["policy"] == "epara")
            g[m] = {"goodput90": p["goodput90"], "ci95": p["goodput90_ci95"],
                    "bracketed": p["limit_reached"]}
        rows.append({"scenario": tag, "workload": wl["workload"], **g})
    qs = sorted(errs)
    table[tag] = {
        "periods": len(errs),
        "median_error": statistics.median(errs) if errs else None,
        "p90_error": qs[int(0.9 * len(qs))] if qs else None,
        "within_15pct": sum(e <= 0.15 for e in errs) / len(errs) if errs else None,
        "summed_error": (pred - obs) / obs if obs else None,
        "median_demand_error": statistics.median(demand_errs) if demand_errs else None,
        "median_hindsight_error": statistics.median(hind_errs) if hind_errs else None,
        "p90_hindsight_error": sorted(hind_errs)[int(0.9 * len(hind_errs))] if hind_errs else None,
        "hindsight_within_15pct":
            sum(e <= 0.15 for e in hind_errs) / len(hind_errs) if hind_errs else None,
        "deploy_steps": steps,
        "plans_with_steps_under_twin": changed,
        "applied_under_twin": applied,
    }

json.dump({"goodput": rows, "twin": table}, open(os.path.join(out, "twin.json"), "w"), indent=1)
with open(os.path.join(out, "twin.md"), "w") as f:
    f.write("# The digital twin in the simulator (bench/sim/twin_study.sh)\n\n")
    f.write("## Goodput @90% of epara, controller without / with the twin's gate\n\n")
    f.write("| scenario | workload | without twin | with twin |\n|---|---|---|---|\n")
    for r in rows:
        def cell(x):
            ci = x["ci95"]
            s = f"{x['goodput90']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"
            return s if x["bracketed"] else ">= " + s
        f.write(f"| {r['scenario']} | {r['workload']} | {cell(r['plain'])} | {cell(r['twin'])} |\n")
    f.write("\n`>=`: every swept rate met 90% (a bound). Intervals: 95% t over the repeats.\n\n")
    f.write("## Predicted vs observed goodput per controller period\n\n")
    f.write("| scenario | periods | median error | p90 error | within 15% | summed | demand forecast "
            "error (median) | hindsight: median, p90, within 15% | deploy steps without / with | "
            "plans with steps, applied |\n")
    f.write("|---|---|---|---|---|---|---|---|---|---|\n")
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"
    for tag, t in table.items():
        f.write(f"| {tag} | {t['periods']} | {pct(t['median_error'])} | {pct(t['p90_error'])} | "
                f"{pct(t['within_15pct'])} | {pct(t['summed_error'])} | "
                f"{pct(t['median_demand_error'])} | {pct(t['median_hindsight_error'])}, "
                f"{pct(t['p90_hindsight_error'])}, {pct(t['hindsight_within_15pct'])} | "
                f"{t['deploy_steps']['plain']} / "
                f"{t['deploy_steps']['twin']} | {t['plans_with_steps_under_twin']}, "
                f"{t['applied_under_twin']} |\n")
    e = sorted(errors_all)
    if e:
        f.write(f"\nAll scenarios: {len(e)} periods, median error {pct(statistics.median(e))}, "
                f"p90 {pct(e[int(0.9 * len(e))])}, {pct(sum(x <= 0.15 for x in e) / len(e))} "
                "within 15%.\n")
    h = sorted(hindsight_all)
    if h:
        f.write(f"Hindsight (each period's own arrivals): median {pct(statistics.median(h))}, "
                f"p90 {pct(h[int(0.9 * len(h))])}, {pct(sum(x <= 0.15 for x in h) / len(h))} "
                "within 15%.\n")
print(open(os.path.join(out, "twin.md")).read())
