#!/usr/bin/env python3
"""footprint.py CALLGRIND_OUT CONNS [THRESH=0.9] [TOP=40]

The hot code footprint of one connection's life, from a callgrind file made with
--dump-instr=yes (compressed or not): instructions run at least THRESH times per connection
are hot; the 64-byte code lines holding one are the L1i footprint. Prints the totals and the
top functions by hot lines (each line charged to the function with most hot instructions in
it), with their hot instructions and self instructions per connection."""
import sys, os, collections
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cgparse import parse

path, conns = sys.argv[1], int(sys.argv[2])
th = float(sys.argv[3]) if len(sys.argv) > 3 else 0.9
top = int(sys.argv[4]) if len(sys.argv) > 4 else 40
counts, fnof, _ = parse(path)
hot = {k: v for k, v in counts.items() if v >= th * conns}
lines = collections.defaultdict(list)
for ob, a in hot:
    lines[(ob, a // 64)].append((ob, a))
print(f"hot instructions: {len(hot)}  hot lines: {len(lines)} ({len(lines)*64/1024:.1f} KiB)  "
      f"total Ir {sum(counts.values())/1e6:.2f} M")
per_fn_lines = collections.Counter(); per_fn_ins = collections.Counter(); per_fn_ir = collections.Counter()
for ins in lines.values():
    per_fn_lines[collections.Counter(fnof[i] for i in ins).most_common(1)[0][0]] += 1
for k in hot:
    per_fn_ins[fnof[k]] += 1
for k, v in counts.items():
    per_fn_ir[fnof[k]] += v
for f, n in per_fn_lines.most_common(top):
    print(f"{n:4d} lines {per_fn_ins[f]:5d} ins {per_fn_ir[f]/conns:8.0f} Ir/conn  {f[:150]}")
