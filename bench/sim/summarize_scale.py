#!/usr/bin/env python3
"""Tables for the simulator's scale study (bench/sim/scale_study.sh): goodput per policy and cluster
size (in requests/s of the whole cluster and per node), the controller's host time per period, the
simulator's own wall time, and load-digest sync cost per node (all-to-all vs zones)."""
import json, os, sys

out = sys.argv[1]
rows, sync = [], []
for tag in sorted(os.listdir(out)):
    d = os.path.join(out, tag)
    if not os.path.isdir(d) or not os.path.exists(os.path.join(d, 'sim_stats.json')):
        continue
    stats = json.load(open(os.path.join(d, 'sim_stats.json')))
    report = json.load(open(os.path.join(d, 'report.json')))
    nodes = stats[0]['nodes']
    factor = nodes / 4  # rates in the report are per 4 nodes (the testbed's)
    for w in report['workloads']:
        for p in w['policies']:
            runs = [s for s in stats if s['policy'] == p['policy']]
            rows.append({
                'tag': tag, 'nodes': nodes, 'policy': p['policy'],
                'goodput90_rps': p['goodput90'] * factor, 'at_least': not p['limit_reached'],
                'goodput90_per_node': p['goodput90'] * factor / nodes,
                'attainment': {str(s['rate']): round(s['slo_attainment'], 4) for s in runs},
                'controller_max_period_s': max(s['controller_max_period_wall_s'] for s in runs),
                'sim_wall_s': sum(s['wall_s'] for s in runs),
                'simulated_s': sum(s['simulated_s'] for s in runs),
                'requests': sum(s['requests'] for s in runs),
            })
    s0 = stats[0]
    sync.append({'tag': tag, 'nodes': nodes, 'policy': s0['policy'],
                 'digest_bytes_per_node_s': s0['digest_bytes_per_node_s'],
                 'digest_messages_per_node_s': s0['digest_messages_per_node_s'],
                 'mean_staleness_ms': s0['mean_staleness_ms']})
json.dump({'goodput': rows, 'sync': sync}, open(os.path.join(out, 'scale_study.json'), 'w'), indent=1)
md = ['# epara sim: scale study', '', 'Command: `bench/sim/scale_study.sh` (the mixed workload; each '
      "run's command is in its report.md). Goodput @90% in requests/s of the whole cluster ('>=': every "
      'swept rate met 90%).', '',
      '| run | nodes | policy | goodput @90% (req/s) | per node | attainment by rate (per 4 nodes) | controller max period (host s) | sim wall s / simulated s |',
      '|---|---|---|---|---|---|---|---|']
for r in rows:
    md.append('| %s | %d | %s | %s%.0f | %.2f | %s | %.3f | %.1f / %.0f |' % (
        r['tag'], r['nodes'], r['policy'], '>= ' if r['at_least'] else '', r['goodput90_rps'],
        r['goodput90_per_node'], ', '.join('%s: %.1f%%' % (k, 100 * v) for k, v in r['attainment'].items()),
        r['controller_max_period_s'], r['sim_wall_s'], r['simulated_s']))
md += ['', '## Load-digest sync per node', '', '| run | nodes | bytes/s per node | messages/s per node | mean digest age when routing (ms) |', '|---|---|---|---|---|']
for s in sync:
    md.append('| %s | %d | %.0f | %.0f | %.0f |' % (s['tag'], s['nodes'], s['digest_bytes_per_node_s'],
                                                 s['digest_messages_per_node_s'], s['mean_staleness_ms']))
open(os.path.join(out, 'scale_study.md'), 'w').write('\n'.join(md) + '\n')
print('\n'.join(md))
