#!/usr/bin/env python3
"""Prints criterion results of `cargo bench -p wm-benches` as markdown tables, with each
contender's speed relative to its group's anchor (the best-known library doing the job)
and to its group's hand-written loop (the limit): the other's median time over the
contender's, so above 1 is faster.

    python3 benches/report.py                      # the last run, in target/criterion
    python3 benches/report.py RUN1 RUN2 RUN3       # several runs (copies of target/criterion)

With several runs, the ratio is computed within each run (same bytes, same run) and the
table gives the median of those ratios and their range, and the median of the medians.
On a shared machine single runs move by ±20%; several runs show how far.
"""
import json
import pathlib
import statistics
import sys

ANCHORS = ("tokio-util LinesCodec", "tokio-util LengthDelimitedCodec",
           "tokio-util LinesCodec+serde_json", "hyper", "httparse-reparse", "raw-httparse")
# The hand-written loop of a group: the fastest way to do the job with no library.
HAND_PREFIXES = ("hand ", "plain ", "raw-httparse")
# Groups whose anchor is the fastest of several, chosen within each run.
BEST_OF = ("tungstenite", "fastwebsockets", "tokio-websockets",
           "tungstenite Frame::format (same buffer)",
           "fastwebsockets Frame::fmt_head+copy (same buffer)")


def load(root):
    """{group: {function: (median_ns, throughput)}} for one run."""
    groups = {}
    for bench in sorted(pathlib.Path(root).glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        groups.setdefault(meta["group_id"], {})[meta["function_id"]] = (
            est["median"]["point_estimate"], meta.get("throughput"))
    return groups


runs = [load(r) for r in (sys.argv[1:] or ["target/criterion"])]


def ratio_cell(group, f, reference_ns):
    """Median (and range) over the runs of reference time / f's time."""
    ratios = [reference_ns(run) / run[group][f][0]
              for run in runs if f in run.get(group, {})]
    if not ratios:
        return ""
    cell = f"{statistics.median(ratios):.2f}×"
    if len(ratios) > 1:
        cell += f" ({min(ratios):.2f}–{max(ratios):.2f})"
    return cell


for group in sorted(runs[0]):
    functions = list(runs[0][group])
    anchor = next((f for f in functions if f in ANCHORS), None)
    best_of = [f for f in functions if f in BEST_OF]
    hand = next((f for f in functions if f.startswith(HAND_PREFIXES)), None)

    def anchor_ns(run):
        if best_of:
            return min(run[group][f][0] for f in best_of)
        return run[group][anchor][0]

    def hand_ns(run):
        return run[group][hand][0]

    print(f"\n`{group}`" + (" (anchor: the fastest of " + ", ".join(best_of) + " in each run)" if best_of else "") + "\n")
    several = f"median of {len(runs)} medians" if len(runs) > 1 else "median"
    range_note = ", median (range)" if len(runs) > 1 else ""
    print(f"| contender | {several} | throughput | vs anchor{range_note} | vs hand loop{range_note} |")
    print("|---|---:|---:|---:|---:|")
    for f in functions:
        medians = [run[group][f][0] for run in runs if f in run.get(group, {})]
        ns = statistics.median(medians)
        throughput = runs[0][group][f][1]
        rate = ""
        if throughput and "Bytes" in throughput:
            rate = f"{throughput['Bytes'] / ns * 1e9 / 2**30:.2f} GiB/s"
        elif throughput and "Elements" in throughput:
            rate = f"{throughput['Elements'] / ns * 1e3:.2f} M/s"
        vs_anchor = ratio_cell(group, f, anchor_ns) if (anchor or best_of) else ""
        vs_hand = ratio_cell(group, f, hand_ns) if hand else ""
        time = f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.1f} µs"
        print(f"| {f} | {time} | {rate} | {vs_anchor} | {vs_hand} |")
