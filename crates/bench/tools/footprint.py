#!/usr/bin/env python3
"""Hot code footprint from a callgrind file made with
--dump-instr=yes --compress-pos=no --compress-strings=no.
Prints the number of distinct 64-byte code lines whose instructions run at least
`min_per_conn` times per connection (default: once), i.e. the I-cache footprint of one
connection's life, and the top functions by hot lines."""
import sys, collections
path = sys.argv[1]; conns = int(sys.argv[2]); frac = float(sys.argv[3]) if len(sys.argv) > 3 else 0.9
counts = collections.Counter(); fnof = {}
fn = None; ob = None; skip = False
for line in open(path, errors='replace'):
    if skip:
        skip = False; continue
    if line.startswith('calls='):
        skip = True; continue
    if line.startswith('ob='):
        ob = line[3:].strip(); continue
    if line.startswith('fn='):
        fn = line[3:].strip(); continue
    if line.startswith('0x'):
        p = line.split()
        a = (ob, int(p[0], 16)); c = int(p[-1])
        counts[a] += c; fnof[a] = fn
thr = conns * frac
hot = [a for a, c in counts.items() if c >= thr]
lines = set((a[0], a[1] >> 6) for a in hot)
print(f"hot instructions: {len(hot)}, hot 64-B lines: {len(lines)} = {len(lines)*64/1024:.1f} KiB")
per = collections.Counter()
byline = collections.defaultdict(list)
for a in hot: byline[(a[0], a[1] >> 6)].append(a)
for l in lines:
    fns = collections.Counter(fnof[a] for a in byline[l])
    per[fns.most_common(1)[0][0]] += 1
for f, n in per.most_common(int(sys.argv[4]) if len(sys.argv) > 4 else 40):
    print(f"{n:5d} {f[:150]}")
