"""Per-instruction self costs from a callgrind file made with --dump-instr=yes, compressed
or not (--compress-pos/--compress-strings either way). Shared by footprint.py and
coldbytes.py."""
import re, collections

def parse(path, want_lines=False):
    """Returns (counts, fnof, srcof): instruction (object, address) -> self count,
    -> function name, -> (file, line) when `want_lines`."""
    names = {}
    def name(kind, s):
        s = s.strip()
        m = re.match(r'\((\d+)\)(?: (.*))?$', s)
        if not m:
            return s
        if m.group(2) is not None:
            names[(kind, m.group(1))] = m.group(2)
        return names.get((kind, m.group(1)), '?')
    def num(tok, cur):
        if tok == '*':
            return cur
        base = 16 if tok.lstrip('+-').startswith('0x') else 10
        if tok[0] == '+':
            return cur + int(tok[1:], base)
        if tok[0] == '-':
            return cur - int(tok[1:], base)
        return int(tok, base)
    counts = collections.Counter(); fnof = {}; srcof = {}
    fn = ob = fl = fi = None; addr = 0; ln = 0; skip = False
    for line in open(path, errors='replace'):
        if not line.strip():
            continue
        if line.startswith('fn='): fn = name('fn', line[3:]); fi = None; continue
        if line.startswith('ob='): ob = name('ob', line[3:]); continue
        if line.startswith('fl='): fl = name('fl', line[3:]); fi = None; continue
        if line.startswith(('fi=', 'fe=')): fi = name('fl', line[3:]); continue
        if line.startswith('cfn='): name('fn', line[4:]); continue
        if line.startswith('cob='): name('ob', line[4:]); continue
        if line.startswith(('cfi=', 'cfl=')): name('fl', line[4:]); continue
        if line.startswith('calls='): skip = True; continue
        if line[0] in '0123456789+-*':
            p = line.split()
            addr = num(p[0], addr)
            if len(p) > 1:
                ln = num(p[1], ln)
            if skip:
                skip = False; continue
            if len(p) >= 3:
                k = (ob, addr)
                counts[k] += int(p[2]); fnof[k] = fn
                if want_lines:
                    srcof[k] = (fi or fl, ln)
    return counts, fnof, srcof
