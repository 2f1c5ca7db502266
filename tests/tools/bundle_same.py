#!/usr/bin/python3
"""bundle_same.py FIRST SECOND: whether two kvmqual.export bundles hold the
same runs, member for member (tests/sections/kit.sh's round trip).

What may differ between an export and the export of its import is only
what says where and when a bundle was written: the top-level
generated_at and database, each run's id (the store that imported it
numbers its own), and the provenance that the import added. So those are
left out, and the provenance is checked on its own: a run without one in
FIRST must have, in SECOND, the provenance pointing back at FIRST (--from
FILE: the bundle path import was given, made absolute); a run that had one
keeps it unchanged. Prints every difference; exit 0 same, 1 different,
2 usage or unreadable input."""
import json
import os
import sys


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def diff(a, b, where, out):
    if type(a) is not type(b):
        out.append(f"{where}: {a!r} vs {b!r}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{where}.{k}: only in {'second' if k not in a else 'first'}")
            else:
                diff(a[k], b[k], f"{where}.{k}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} vs {len(b)} members")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{where}[{i}]", out)
    elif a != b:
        out.append(f"{where}: {a!r} vs {b!r}")


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--from"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        first, second = load(argv[1]), load(argv[2])
    except (OSError, ValueError) as e:
        print(f"bundle_same: {e}", file=sys.stderr)
        return 2
    source = os.path.realpath(argv[4]) if len(argv) == 5 else None
    out = []
    for doc in (first, second):
        for k in ("generated_at", "database"):
            doc.pop(k, None)
    runs_a, runs_b = first.pop("runs", []), second.pop("runs", [])
    diff(first, second, "bundle", out)
    if len(runs_a) != len(runs_b):
        out.append(f"runs: {len(runs_a)} vs {len(runs_b)}")
    for i, (ra, rb) in enumerate(zip(runs_a, runs_b)):
        pa, pb = ra.pop("provenance", "absent"), rb.pop("provenance", "absent")
        ida, _ = ra.pop("id", None), rb.pop("id", None)
        if pa is None and source is not None:
            want = {"bundle": source, "run_id": ida}
            got = {k: (pb or {}).get(k) for k in want}
            if got != want or not (pb or {}).get("imported_at"):
                out.append(f"runs[{i}].provenance: {pb!r}, expected {want!r} and an imported_at")
        elif pa != pb:
            out.append(f"runs[{i}].provenance: {pa!r} vs {pb!r}")
        diff(ra, rb, f"runs[{i}]", out)
    for line in out[:40]:
        print(line)
    if len(out) > 40:
        print(f"... {len(out) - 40} more")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
