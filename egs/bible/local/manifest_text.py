#!/usr/bin/env python3
"""Print one field (default ``text``) of each line of JSONL manifests, one per line (LM eval text)."""

import argparse
import json

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("manifests", nargs="+")
ap.add_argument("--field", default="text")
args = ap.parse_args()
for path in args.manifests:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                print(json.loads(line)[args.field])
