#!/usr/bin/env python3
"""coldbytes.py CALLGRIND_OUT BINARY CONNS [TOP=50]

Where block layout wastes the L1i: the bytes of instructions that run rarely (< 0.1 per
connection) or never, sitting inside hot 64-byte lines (lines holding an instruction run at
least 0.9 times per connection), by function and by source line. CALLGRIND_OUT is made with
--dump-instr=yes from BINARY (only BINARY's own code is considered); instruction lengths and
the source lines of never-run code come from `objdump -d -l`."""
import sys, os, re, subprocess, collections
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cgparse import parse

path, binary, conns = sys.argv[1], sys.argv[2], int(sys.argv[3])
top = int(sys.argv[4]) if len(sys.argv) > 4 else 50
obj = os.path.basename(binary)
counts_all, fnof_all, src_all = parse(path, want_lines=True)
counts = {a: v for (ob, a), v in counts_all.items() if ob and os.path.basename(ob) == obj}
where = {a: src_all[(ob, a)] for (ob, a) in counts_all if ob and os.path.basename(ob) == obj}
hotlines = {a // 64 for a, v in counts.items() if v >= 0.9 * conns}
lo, hi = min(hotlines) * 64, max(hotlines) * 64 + 64
out = subprocess.run(['objdump', '-d', '-l', '-C', '--no-show-raw-insn',
                      f'--start-address={lo:#x}', f'--stop-address={hi:#x}', binary],
                     capture_output=True, text=True).stdout
ins = []; src_of = {}; sym_of = {}; cur = '?'; sym = '?'
for l in out.split('\n'):
    m = re.match(r'^\s+([0-9a-f]+):', l)
    if m:
        a = int(m.group(1), 16); ins.append(a); src_of[a] = cur; sym_of[a] = sym; continue
    m = re.match(r'^[0-9a-f]+ <(.*)>:$', l)
    if m:
        sym = m.group(1); continue
    m = re.match(r'^(/\S+):(\d+)', l)
    if m:
        cur = m.group(1).split('/src/')[-1] + ':' + m.group(2)
length = {a: b - a for a, b in zip(ins, ins[1:])}
by_fn = collections.Counter(); by_src = collections.Counter(); rare = never = 0
for a in ins:
    if a // 64 not in hotlines or counts.get(a, 0) >= 0.1 * conns:
        continue
    n = length.get(a, 1)
    if a in counts:
        rare += n
        f, l = where[a]
        by_src[(f.split('/src/')[-1] if f else '?') + f':{l}'] += n
    else:
        never += n
        by_src[src_of.get(a, '?')] += n
    by_fn[sym_of.get(a, '?')] += n
print(f"hot lines {len(hotlines)}; rarely-run bytes in them {rare + never} "
      f"({(rare + never)/64:.0f} lines' worth), of which never run {never}")
for f, n in by_fn.most_common(25):
    print(f"{n:6d} B  {f[:120]}")
print('--- by source line')
for s, n in by_src.most_common(top):
    print(f"{n:6d} B  {s}")
