#!/usr/bin/env python3
"""Table of bench/boot.sh rows: CONFIG RUN STATUS BOOT_S OVER_KB PRIV_KB TEXT_KB RSS_KB."""
import statistics, sys

rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
mem = sys.argv[2]
order, data = [], {}
for cfg, run, st, boot, over, priv, text, rss in rows:
    if cfg not in data:
        order.append(cfg); data[cfg] = {"boot": [], "over": [], "priv": [], "text": [], "fail": []}
    d = data[cfg]
    if st != "ok":
        d["fail"].append(st); continue
    d["boot"].append(float(boot))
    for k, v in (("over", over), ("priv", priv), ("text", text)):
        if v != "-":
            d[k].append(int(v) / 1024)

med = lambda xs: statistics.median(xs) if xs else None
fmt = lambda x, f="{:.2f}": f.format(x) if x is not None else "-"
print(f"\nBoot to init (exec -> 'VTEST-INIT' on serial) and VMM memory beyond guest RAM, -m {mem}")
print(f"{'config':18} {'runs':>4} {'boot med s':>10} {'min':>6} {'max':>6} {'/qemu-pc':>8} {'/microvm':>8}"
      f" {'over MiB':>8} {'priv MiB':>8} {'text MiB':>8}")
ref = {k: med(data[k]["boot"]) for k in ("qemu-pc", "qemu-microvm") if k in data}
for cfg in order:
    d = data[cfg]; b = med(d["boot"])
    r1 = b / ref["qemu-pc"] if b and ref.get("qemu-pc") else None
    r2 = b / ref["qemu-microvm"] if b and ref.get("qemu-microvm") else None
    print(f"{cfg:18} {len(d['boot']):>4} {fmt(b):>10} {fmt(min(d['boot']) if d['boot'] else None):>6}"
          f" {fmt(max(d['boot']) if d['boot'] else None):>6} {fmt(r1):>8} {fmt(r2):>8}"
          f" {fmt(med(d['over']), '{:.1f}'):>8} {fmt(med(d['priv']), '{:.1f}'):>8} {fmt(med(d['text']), '{:.1f}'):>8}")
    if d["fail"]:
        print(f"{'':18} failed runs: {len(d['fail'])} ({', '.join(sorted(set(d['fail'])))})")
print("over = VmRSS - resident guest RAM; priv = private pages outside guest RAM;"
      " text = resident executable file mappings (binary + libraries, shared).")
print("Targets (issue 2): vireo-pc /qemu-pc <= 0.50, /microvm <= 0.90, over <= 5 MiB.")
