#!/usr/bin/python3
"""Markdown tables of docs/sweep.md from the sweep CSVs in this folder.
   /usr/bin/python3 docs/sweep/tables.py"""
import csv, os
here = os.path.dirname(os.path.abspath(__file__))
NAT = {'gelu': 5, 'exp': 4, 'rsqrt': 5}


def load(name):
    rows = list(csv.DictReader(open(os.path.join(here, name + '.csv'))))
    return {(int(r['entries']), int(r['input_bits']), int(r['coef_bits'])): r for r in rows}


def e(v):
    return '%.2e' % float(v)


def a(v):
    return '%.0f' % float(v) if v else '-'


print('### More entries (8-bit inputs, all scales 0..6: paper score; baked / programmable area in um^2)\n')
print('| function | coef bits | K=4 | K=8 | K=16 | K=32 |')
print('|---|---:|---:|---:|---:|---:|')
for f in NAT:
    d = load(f)
    for c in (4, 6, 8):
        cells = ['%s (%s / %s)' % (e(d[(k, 8, c)]['paper_score']), a(d[(k, 8, c)]['area_um2']),
                                   a(d[(k, 8, c)]['prog_area_um2'])) for k in (4, 8, 16, 32)]
        print('| %s | %d | %s |' % (f, c, ' | '.join(cells)))

print('\n### Input bits (8 entries, coefficient bits = input bits; int8 data requantized to b_in bits at the natural scale)\n')
print('| function (int8 scale) | b_in = c | own codes: paper score | int8 data: MSE | baked um^2 | prog. um^2 | prog./INT32 | prog./FP32 |')
print('|---|---:|---:|---:|---:|---:|---:|---:|')
for f, n in NAT.items():
    d = load('%s_n%d' % (f, n))
    for b in (4, 5, 6, 7, 8):
        r = d[(8, b, b)]
        print('| %s (n=%d) | %d | %s | %s | %s | %s | %s | %s |' % (f, n, b, e(r['paper_score']), e(r['int8_input_score']),
              a(r['area_um2']), a(r['prog_area_um2']), r['prog_ratio_int32'], r['prog_ratio_fp32']))

print('\n### The floor of narrow inputs (int8 data at the natural scale; best over K and coefficient bits)\n')
print('| function | b_in=4 | 5 | 6 | 7 | 8 |')
print('|---|---:|---:|---:|---:|---:|')
for f, n in NAT.items():
    d = load('%s_n%d' % (f, n))
    best = []
    for b in (4, 5, 6, 7, 8):
        best.append(min(float(r['int8_input_score']) for (k, bb, c), r in d.items() if bb == b))
    print('| %s | %s |' % (f, ' | '.join('%.2e' % v for v in best)))

print('\n### Pareto fronts (int8 data, natural scale): cheapest baked unit per error level\n')
for f, n in NAT.items():
    d = load('%s_n%d' % (f, n))
    front = sorted((float(r['area_um2']), float(r['int8_input_score']), k) for k, r in d.items() if r['pareto'] == '1')
    print('- **%s**: ' % f + ', '.join('K=%d b_in=%d c=%d %s at %.0f' % (k[0], k[1], k[2], e(s), ar) for ar, s, k in front))
