#!/usr/bin/env python3
"""SLO-meeting requests/s in 10-second bins per policy for each fault scenario of
bench/sim/fault_study.sh (from each run's report.json; SLOs from the workload file)."""
import json, os, sys

out, workload = sys.argv[1], sys.argv[2]
# The mixed workload's SLOs: segmentation e2e 600 ms; LLM TTFT 1500 ms, TPOT 150 ms.
slo = {0: {'e2e_ms': 600}, 1: {'ttft_ms': 1500, 'tpot_ms': 150}}
def meets(r):
    if not r['ok']:
        return False
    s = slo[r['service']]
    return all(r[k] <= v for k, v in s.items())
BIN = 10
table, md = {}, ['# epara sim: fault study', '',
                 'Command: `bench/sim/fault_study.sh` (16 generated nodes, the mixed workload at 256 req/s, '
                 '90 s; faults at the times shown, counted from the end of the 2 s warm-up). SLO-meeting '
                 'requests/s per 10 s bin.', '']
for tag in ['none', 'crash', 'controller', 'loss30']:
    path = os.path.join(out, tag, 'report.json')
    if not os.path.exists(path):
        continue
    rep = json.load(open(path))
    md += ['## ' + {'none': 'no fault', 'crash': 'edge-1 (the only edge server) crashes at 30 s, recovers at 60 s',
                    'controller': 'controller down from 20 s to 70 s', 'loss30': '30% of digests lost'}[tag], '']
    bins = None
    rows = []
    for run in rep['runs']:
        f = run['records_fields']
        recs = [dict(zip(f, x)) for x in run['records']]
        n = int(run['duration_s'] // BIN)
        met = [0] * n
        for r in recs:
            b = int(r['sent_s'] // BIN)
            if b < n and meets(r):
                met[b] += 1
        total = sum(1 for r in recs if meets(r)) / max(1, len(recs))
        rows.append((run['policy'], [m / BIN for m in met], total))
        table.setdefault(tag, {})[run['policy']] = {'slo_meeting_rps_by_10s': [m / BIN for m in met],
                                                   'attainment': total}
        bins = n
    md.append('| policy | ' + ' | '.join('%d-%d s' % (b * BIN, (b + 1) * BIN) for b in range(bins)) + ' | attainment |')
    md.append('|---|' + '---|' * bins + '---|')
    for p, m, t in rows:
        md.append('| %s | %s | %.1f%% |' % (p, ' | '.join('%.1f' % x for x in m), 100 * t))
    md.append('')
json.dump(table, open(os.path.join(out, 'fault_study.json'), 'w'), indent=1)
open(os.path.join(out, 'fault_study.md'), 'w').write('\n'.join(md) + '\n')
print('\n'.join(md))
