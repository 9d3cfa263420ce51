#!/usr/bin/env python3
"""check_trace_reader.py DOC TRACE DUMP - run the Python reader printed in DOC's appendix
(docs/trace-format.md), as printed, on TRACE and compare every record with DUMP (the output of
`essim trace dump TRACE`): iterations, epochs, learning rates, losses and written blocks.
Prints one line and exits 0 when they agree, 1 otherwise."""
import re
import sys

doc, trace, dump = sys.argv[1:4]
text = open(doc, encoding="utf-8").read()
code = re.search(r"## Appendix: a reader in Python.*?```python\n(.*?)```", text, re.S).group(1)
env = {}
exec(compile(code, doc + " (appendix)", "exec"), env)
hdr, records = env["read_trace"](trace)
names = [l["name"] for l in hdr["layers"]]
sizes = [l["blocks"] for l in hdr["layers"]]

want = []  # from the dump: (iteration, epoch, lr, loss, {layer: [indices]})
for line in open(dump, encoding="utf-8"):
    m = re.match(r"iteration (\d+)  epoch (\d+)  lr (\S+)  loss (\S+)$", line.rstrip("\n"))
    if m:
        want.append((int(m[1]), int(m[2]), float(m[3]), float(m[4]), {}))
        continue
    m = re.match(r"  (\S+) (\d+)/(\d+)(?:: (.*))?$", line.rstrip("\n"))
    if not m:
        sys.exit(f"unexpected dump line: {line!r}")
    idx = []
    for tok in (m[4] or "").split():
        a, _, b = tok.partition("-")
        idx.extend(range(int(a), int(b or a) + 1))
    if len(idx) != int(m[2]):
        sys.exit(f"dump line counts {m[2]} but lists {len(idx)}: {line!r}")
    want[-1][4][m[1]] = idx

bad = []
if len(records) != len(want):
    bad.append(f"{len(records)} records read, {len(want)} dumped")
for got, exp in zip(records, want):
    it, ep, lr, loss, masks = got
    if (it, ep) != exp[:2] or abs(lr - exp[2]) > 1e-8 * abs(exp[2]) or \
            abs(loss - exp[3]) > 1e-8 * abs(exp[3]):
        bad.append(f"iteration {exp[0]}: scalars {got[:4]} vs {exp[:4]}")
    for name, g, m in zip(names, sizes, masks):
        if m != exp[4].get(name) or any(i >= g for i in m):
            bad.append(f"iteration {exp[0]}, layer {name}: masks differ")
    if len(bad) > 5:
        break
if bad:
    print("\n".join(bad[:6]))
    sys.exit(1)
print(f"{trace}: format {hdr['version'][0]}.{hdr['version'][1]}, {len(records)} records agree")
