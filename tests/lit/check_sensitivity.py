#!/usr/bin/env python3
"""check_sensitivity.py JSON SVG STATS: the sensitivity report is well-formed JSON and SVG,
and the allocation meets its target by the MACs `effc opt --pass-stats` counted when the
printed pipeline was applied on its own (STATS holds that stderr)."""
import json
import re
import sys
import xml.etree.ElementTree as ET

r = json.load(open(sys.argv[1]))
assert r['metric'] == 'top1' and r['by'] == 'macs', r
assert len(r['layers']) >= 2, r['layers']
for l in r['layers']:
    assert [p['sparsity'] for p in l['points']] == [0.25, 0.5], l
    for p in l['points']:
        assert 0 <= p['top1'] <= 1 and p['macs_removed'] >= 0
a = r['allocation']
assert a['target_met'] and a['macs_fraction'] >= r['target'], a
stats = open(sys.argv[3]).read()
before = int(re.search(r'macs-before = (\d+)', stats).group(1))
after = int(re.search(r'macs-after = (\d+)', stats).group(1))
assert before == r['macs'], (before, r['macs'])
assert after <= (1 - r['target']) * before, (after, before)
svg = ET.parse(sys.argv[2]).getroot()
lines = [e for e in svg.iter() if e.tag.endswith('polyline')]
assert len(lines) == len(r['layers']), len(lines)
print('sensitivity ok: %d layers, MACs %d -> %d, top-1 %.4f' % (len(r['layers']), before, after, a['top1']))
