#!/usr/bin/env python3
"""Turns a JMH JSON result of AllocFreeBenchmark into the markdown tables of BENCHMARKS.md.

usage: python3 bench/scripts/jmh-table.py result.json
"""
import json
import sys
from collections import defaultdict

IMPLS = ["spillway", "nettyPooled", "nettyAdaptive", "ffmMalloc"]


def main(path):
    runs = json.load(open(path))
    score = defaultdict(dict)  # (bench, size) -> impl -> (score, error)
    for r in runs:
        bench = r["benchmark"].rsplit(".", 1)[1]
        p = r["params"]
        m = r["primaryMetric"]
        score[(bench, int(p["size"]))][p["impl"]] = (m["score"], m["scoreError"])
    for bench in ["oneThread", "twoThreads"]:
        print(f"\n**{bench}** (ns/op, lower is better; ratio = peer / spillway)\n")
        print("| size | " + " | ".join(IMPLS) + " | nettyAdaptive / spillway | ffmMalloc / spillway |")
        print("|---:|" + "---:|" * (len(IMPLS) + 2))
        for size in sorted({s for (b, s) in score if b == bench}):
            row = score[(bench, size)]
            cells = [f"{row[i][0]:.1f} ± {row[i][1]:.1f}" if i in row else "—" for i in IMPLS]
            sp = row.get("spillway", (float("nan"),))[0]
            ratio = lambda i: f"{row[i][0] / sp:.2f}×" if i in row else "—"
            print(f"| {size} | " + " | ".join(cells) + f" | {ratio('nettyAdaptive')} | {ratio('ffmMalloc')} |")
    print("\n**Two-thread scaling** (throughput of two threads / one thread = 2 × t1 / t2)\n")
    print("| size | " + " | ".join(IMPLS) + " |")
    print("|---:|" + "---:|" * len(IMPLS))
    for size in sorted({s for (b, s) in score if b == "oneThread"}):
        one, two = score[("oneThread", size)], score[("twoThreads", size)]
        cells = [f"{2 * one[i][0] / two[i][0]:.2f}×" if i in one and i in two else "—" for i in IMPLS]
        print(f"| {size} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
