#!/usr/bin/env python3
"""Table of bench/boot.sh rows: CONFIG RUN STATUS BOOT_S OVER_KB PRIV_KB TEXT_KB RSS_KB EXIT_S."""
import statistics, sys

rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
mem = sys.argv[2]
order, data = [], {}
for cfg, run, st, boot, over, priv, text, rss, *rest in rows:
    if cfg not in data:
        order.append(cfg)
        data[cfg] = {"boot": [], "over": [], "priv": [], "text": [], "exit": [], "fail": []}
    d = data[cfg]
    if st != "ok":
        d["fail"].append(st); continue
    d["boot"].append(float(boot))
    if rest and rest[0] != "-":
        d["exit"].append(float(rest[0]))
    for k, v in (("over", over), ("priv", priv), ("text", text)):
        if v != "-":
            d[k].append(int(v) / 1024)

med = lambda xs: statistics.median(xs) if xs else None
fmt = lambda x, f="{:.2f}": f.format(x) if x is not None else "-"
refs = [k for k in ("qemu-pc", "qemu-pc-pvh", "qemu-microvm") if k in data and data[k]["boot"]]
print(f"\nBoot to init (exec -> 'VTEST-INIT' on serial), exit (exec -> process gone) and VMM"
      f" memory beyond guest RAM, -m {mem}")
print(f"{'config':16} {'runs':>4} {'init med s':>10} {'min':>6} {'max':>6}"
      + "".join(f" {'/' + r:>12}" for r in refs)
      + f" {'exit s':>7} {'over MiB':>8} {'priv MiB':>8} {'text MiB':>8}")
for cfg in order:
    d = data[cfg]; b = med(d["boot"])
    ratios = "".join(f" {fmt(b / med(data[r]['boot']) if b else None):>12}" for r in refs)
    print(f"{cfg:16} {len(d['boot']):>4} {fmt(b):>10} {fmt(min(d['boot']) if d['boot'] else None):>6}"
          f" {fmt(max(d['boot']) if d['boot'] else None):>6}{ratios} {fmt(med(d['exit'])):>7}"
          f" {fmt(med(d['over']), '{:.1f}'):>8} {fmt(med(d['priv']), '{:.1f}'):>8} {fmt(med(d['text']), '{:.1f}'):>8}")
    if d["fail"]:
        print(f"{'':16} failed runs: {len(d['fail'])} ({', '.join(sorted(set(d['fail'])))})")
print("over = VmRSS - resident guest RAM; priv = private pages outside guest RAM;"
      " text = resident executable file mappings (binary + libraries, shared).")
print("Targets (issue 13): vireo-cold /qemu-pc <= 0.70, vireo-warm /qemu-pc <= 0.45 (KASLR kept),"
      " over <= 3 MiB.")
