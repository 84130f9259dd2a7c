#!/usr/bin/env python3
"""Markdown table for scripts/bench.sh.

  report.py ROWS RUNS [TARGETS]

ROWS (tab-separated, in table order): case, tool, bytes, role, note
  role: "skopeo" (the row other rows of the case are compared with), "ceiling" (likewise;
  with several ceiling rows in a case the fastest is the ceiling and gets a ★),
  "tool" (an ordinary row), "skip" (not run: note is printed instead of figures).
RUNS (tab-separated): case, tool, run, seconds, max_rss_kib, rc
TARGETS (tab-separated, optional): one target to state under the table per line
  ratio CASE TOOL REF_TOOL MAX   median of TOOL / median of REF_TOOL, "met" when <= MAX
                                 (MAX empty: the ratio only)
  mibs CASE TOOL MIN             MiB/s of TOOL's row, "met" when >= MIN
"""
import statistics
import sys
from collections import defaultdict


def main():
    rows_path, runs_path = sys.argv[1:3]
    rows = []
    with open(rows_path) as f:
        for line in f:
            if line.strip():
                case, tool, nbytes, role, note = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
                rows.append(dict(case=case, tool=tool, bytes=int(nbytes or 0), role=role,
                                 note=note))
    runs = defaultdict(list)
    with open(runs_path) as f:
        for line in f:
            if line.strip():
                case, tool, _run, secs, rss, rc = line.rstrip("\n").split("\t")
                runs[(case, tool)].append((float(secs), int(rss or 0), int(rc)))

    stats = {}
    for r in rows:
        rs = runs.get((r["case"], r["tool"]), [])
        ok = [x for x in rs if x[2] == 0]
        failed = len(rs) - len(ok)
        if ok:
            med = statistics.median(x[0] for x in ok)
            stats[(r["case"], r["tool"])] = dict(
                med=med, rss=max(x[1] for x in ok) / 1024, n=len(ok), failed=failed,
                spread=(min(x[0] for x in ok), max(x[0] for x in ok)))
        else:
            stats[(r["case"], r["tool"])] = dict(med=None, failed=failed, n=0)

    # The baseline of a role is the fastest row holding that role in the case (a case may
    # have two curl ceilings: parallel and sequential; the faster one is the ceiling).
    base, chosen = {}, set()
    for r in rows:
        if r["role"] in ("skopeo", "ceiling"):
            s = stats[(r["case"], r["tool"])]
            k = (r["case"], r["role"])
            if s["med"] and (k not in base or s["med"] < base[k][0]):
                base[k] = (s["med"], r["tool"])
    for (case, role), (_, tool) in base.items():
        if role == "ceiling" and sum(1 for r in rows if r["case"] == case
                                     and r["role"] == "ceiling") > 1:
            chosen.add((case, tool))

    print("| case | tool | median s | MiB/s | max RSS MiB | ratio to skopeo | ratio to ceiling |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        s = stats[(r["case"], r["tool"])]
        if r["role"] == "skip":
            print(f"| {r['case']} | {r['tool']} | {r['note']} | | | | |")
            continue
        if s["med"] is None:
            print(f"| {r['case']} | {r['tool']} | failed ({s['failed']} of {s['failed']} runs) "
                  "| | | | |")
            continue
        mibs = r["bytes"] / (1 << 20) / s["med"] if s["med"] > 0 else 0

        def ratio(role):
            b = base.get((r["case"], role))
            return f"{s['med'] / b[0]:.2f}×" if b else "—"

        med = f"{s['med']:.2f}"
        if s["n"] > 1:
            med += f" ({s['spread'][0]:.2f}–{s['spread'][1]:.2f})"
        if s["failed"]:
            med += f" [{s['failed']} failed]"
        tool = r["tool"] + (" ★" if (r["case"], r["tool"]) in chosen else "")
        tool += f" ({r['note']})" if r["note"] else ""
        print(f"| {r['case']} | {tool} | {med} | {mibs:.0f} | {s['rss']:.0f} | "
              f"{ratio('skopeo')} | {ratio('ceiling')} |")

    if len(sys.argv) > 3:
        targets(sys.argv[3], rows, stats)


def targets(path, rows, stats):
    lines = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            kind, case, tool, *rest = line.rstrip("\n").split("\t")
            s = stats.get((case, tool), {})
            if kind == "ratio":
                ref, limit = (rest + ["", ""])[:2]
                b = stats.get((case, ref), {})
                if not s.get("med") or not b.get("med"):
                    lines.append(f"* {case}: {tool} ÷ {ref}: no figures")
                    continue
                x = s["med"] / b["med"]
                text = f"* {case}: {tool} ÷ {ref} = {x:.2f}×"
                if limit:
                    ok = x <= float(limit)
                    text += f" (target ≤ {float(limit):g}×): **{'met' if ok else 'MISSED'}**"
                lines.append(text)
            elif kind == "mibs":
                limit = float(rest[0])
                row = next((r for r in rows if r["case"] == case and r["tool"] == tool), None)
                if not s.get("med") or row is None:
                    lines.append(f"* {case}: {tool}: no figures")
                    continue
                v = row["bytes"] / (1 << 20) / s["med"]
                ok = v >= limit
                lines.append(f"* {case}: {tool} = {v:.0f} MiB/s (target ≥ {limit:g} MiB/s): "
                             f"**{'met' if ok else 'MISSED'}**")
    if lines:
        print()
        print("Targets (medians of this run):")
        print()
        print("\n".join(lines))


if __name__ == "__main__":
    main()
