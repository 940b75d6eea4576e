#!/usr/bin/env python3
"""Prints the medians of the last `cargo bench -p wm-benches` run as markdown tables,
with each contender's speed relative to the group's anchor (a ratio > 1 means faster).

    python3 benches/report.py            # all groups under target/criterion
"""
import json
import pathlib
import sys

ANCHORS = ("tokio-util LinesCodec", "tokio-util LengthDelimitedCodec",
           "tokio-util LinesCodec+serde_json")
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median_ns(bench_dir):
    est = json.loads((bench_dir / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"]


def name_of(bench_dir):
    meta = json.loads((bench_dir / "new" / "benchmark.json").read_text())
    return meta["group_id"], meta["function_id"], meta.get("throughput")


groups = {}
for est in sorted(root.glob("**/new/estimates.json")):
    bench_dir = est.parent.parent
    try:
        group, function, throughput = name_of(bench_dir)
    except (FileNotFoundError, KeyError):
        continue
    groups.setdefault(group, []).append((function, median_ns(bench_dir), throughput))

for group, rows in sorted(groups.items()):
    anchor = next((ns for f, ns, _ in rows if f in ANCHORS), None)
    print(f"\n`{group}`\n")
    print("| contender | median | throughput | vs anchor |")
    print("|---|---:|---:|---:|")
    for function, ns, throughput in rows:
        gibs = ""
        if throughput and "Bytes" in throughput:
            gibs = f"{throughput['Bytes'] / ns * 1e9 / 2**30:.2f} GiB/s"
        ratio = f"{anchor / ns:.2f}×" if anchor else ""
        print(f"| {function} | {ns / 1e6:.2f} ms | {gibs} | {ratio} |")
