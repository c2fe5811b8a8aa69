#!/usr/bin/env python3
"""Copy a handful of short test utterances (as FLAC) with references into asrkit/samples/.

Picks, deterministically, utterances of 2.5-7 s from the given manifests (first the lowest
sha1(id) values), so the bundled demo audio is small and reproducible. ``--name`` is the sample list to
(re)write (samples.jsonl: English, samples_zh.jsonl: Mandarin); only the audio files of that list are
replaced, so each language's samples are remade without touching the others'.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import soundfile as sf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", nargs="+", required=True, help="MANIFEST:COUNT pairs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="samples.jsonl", help="the sample list to write in OUT")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / args.name).exists():
        for line in (out / args.name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                (out / json.loads(line)["audio"]).unlink(missing_ok=True)
    lines = []
    for spec in args.manifest:
        path, count = spec.rsplit(":", 1)
        man = Path(path)
        utts = [json.loads(x) for x in man.read_text(encoding="utf-8").splitlines() if x.strip()]
        utts = [u for u in utts if 2.5 <= u["duration"] <= 7.0]
        utts.sort(key=lambda u: hashlib.sha1(u["id"].encode()).hexdigest())
        for u in utts[: int(count)]:
            wave, sr = sf.read(man.parent / u["audio"], dtype="int16")
            name = f"{u['id']}.flac"
            sf.write(out / name, wave, sr, format="FLAC")
            lines.append({"id": u["id"], "audio": name, "duration": u["duration"], "text": u["text"],
                          "lang": u.get("lang", "en")})
    (out / args.name).write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                                       encoding="utf-8")
    print(f"wrote {len(lines)} samples to {out}")


if __name__ == "__main__":
    main()
