#!/usr/bin/env python3
"""Table for bench/sim/route_peers_study.sh: epara's goodput @90% per node (mean of the repeats
with its 95% interval, from each run's report.md), the candidates a request weighed, and the
simulator's wall time, per cluster size and --route-peers."""
import json, os, re, sys

out = sys.argv[1]
rows = []
for tag in sorted(os.listdir(out)):
    d = os.path.join(out, tag)
    m = re.fullmatch(r'n(\d+)_peers(\d+)', tag)
    if not m or not os.path.exists(os.path.join(d, 'sim_stats.json')):
        continue
    nodes, peers = int(m.group(1)), int(m.group(2))
    stats = json.load(open(os.path.join(d, 'sim_stats.json')))
    row = re.search(r'^\| epara \| (>= )?([\d.]+)(?: \[([\d.]+), ([\d.]+)\])? \|.*?\| (.*?) \|',
                    open(os.path.join(d, 'report.md' if os.path.exists(os.path.join(d, 'report.md'))
                                      else 'epara_row.md')).read(), re.M)
    per_node = lambda x: float(x) / 4 if x is not None else None  # report rates are per 4 nodes
    routes = sum(s['requests'] for s in stats)
    rows.append({
        'nodes': nodes, 'route_peers': peers, 'at_least': bool(row.group(1)),
        'goodput90_per_node': per_node(row.group(2)), 'lo': per_node(row.group(3)),
        'hi': per_node(row.group(4)),
        'mean_route_candidates': sum(s['mean_route_candidates'] * s['requests'] for s in stats) / routes,
        'sim_wall_s': sum(s['wall_s'] for s in stats),
        'simulated_s': sum(s['simulated_s'] for s in stats), 'requests': routes,
    })
rows.sort(key=lambda r: (r['nodes'], r['route_peers']))
json.dump(rows, open(os.path.join(out, 'route_peers.json'), 'w'), indent=1)
md = ['# epara sim: bounded route candidates', '',
      'Command: `bench/sim/route_peers_study.sh` (the mixed workload on generated clusters, epara, '
      'all-to-all sync; `--route-peers 0` weighs every host). Goodput @90% per node in requests/s '
      '(mean of the repeats [95% interval]; `>=`: every swept rate met 90%).', '',
      '| nodes | route peers | goodput @90% per node | candidates per request | sim wall s / simulated s | us per request |',
      '|---|---|---|---|---|---|']
for r in rows:
    ci = ' [%.2f, %.2f]' % (r['lo'], r['hi']) if r['lo'] is not None else ''
    md.append('| %d | %s | %s%.2f%s | %.1f | %.1f / %.0f | %.1f |' % (
        r['nodes'], r['route_peers'] or 'all', '>= ' if r['at_least'] else '', r['goodput90_per_node'],
        ci, r['mean_route_candidates'], r['sim_wall_s'], r['simulated_s'],
        1e6 * r['sim_wall_s'] / max(1, r['requests'])))
open(os.path.join(out, 'route_peers.md'), 'w').write('\n'.join(md) + '\n')
print('\n'.join(md))
