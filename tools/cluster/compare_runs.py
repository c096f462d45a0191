#!/usr/bin/env python3
"""Compares two run folders (or two sweeps, run folder by run folder) for identical results:
summary.json without wall time, metrics.jsonl without per-epoch seconds, and every tensor of
last.safetensors and best.safetensors byte for byte. Standard library only.

    compare_runs.py A B            exit 0 when identical, 1 (naming what differs) otherwise
"""
import json
import struct
import sys
from pathlib import Path


def tensors(path: Path) -> dict:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    return {
        k: body[v["data_offsets"][0] : v["data_offsets"][1]]
        for k, v in header.items()
        if k != "__metadata__"
    }


def results(run: Path):
    summary = json.loads((run / "summary.json").read_text())
    summary.pop("wall_seconds", None)
    metrics = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        m = json.loads(line)
        m.pop("seconds", None)
        metrics.append(m)
    ts = {f: tensors(run / f) for f in ("last.safetensors", "best.safetensors")}
    return summary, metrics, ts


def runs(root: Path):
    if (root / "summary.json").is_file():
        return {Path("."): root}
    return {p.parent.relative_to(root): p.parent for p in sorted(root.rglob("summary.json"))}


def main() -> int:
    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    ra, rb = runs(a), runs(b)
    if set(ra) != set(rb) or not ra:
        print(f"different run folders: {sorted(map(str, ra))} vs {sorted(map(str, rb))}")
        return 1
    bad = 0
    for rel in sorted(ra):
        (sa, ma, ta), (sb, mb, tb) = results(ra[rel]), results(rb[rel])
        for what, x, y in (("summary.json", sa, sb), ("metrics.jsonl", ma, mb)):
            if x != y:
                print(f"{rel}: {what} differs")
                bad += 1
        for f in ta:
            diff = [k for k in set(ta[f]) | set(tb[f]) if ta[f].get(k) != tb[f].get(k)]
            if diff:
                print(f"{rel}: {f}: tensors differ: {sorted(diff)[:5]}")
                bad += 1
    print(f"{len(ra)} runs compared: {'identical' if not bad else f'{bad} differences'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
