#!/usr/bin/env python3
"""Per-call inclusive cost from a callgrind file (--compress-strings=no):
function, calls, inclusive Ir, Ir per call. Usage: percall.py FILE [pattern] [top]"""
import sys, collections
path = sys.argv[1]; pat = sys.argv[2] if len(sys.argv) > 2 else ''; top = int(sys.argv[3]) if len(sys.argv) > 3 else 60
calls = collections.Counter(); incl = collections.Counter()
cfn = None; pending = None
for line in open(path, errors='replace'):
    if pending is not None:
        p = line.split(); incl[cfn] += int(p[-1]); calls[cfn] += pending; pending = None; continue
    if line.startswith('cfn='): cfn = line[4:].strip(); continue
    if line.startswith('calls='): pending = int(line[6:].split()[0]); continue
rows = [(incl[f], calls[f], f) for f in incl if pat in f]
rows.sort(reverse=True)
for i, c, f in rows[:top]:
    print(f"{i:>12,} {c:>9,} {i/c:>9.0f}  {f[:140]}")
