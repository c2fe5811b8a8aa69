#!/usr/bin/env python3
"""Real-time factor of greedy CTC decoding on ONE CPU thread, next to peers measured in the same run.

Rows: asrkit's fbank vs kaldi-native-fbank (front end alone), asrkit end to end (read audio, fbank,
LFR, CMVN, encoder, greedy CTC) vs pocketsphinx (if installed: `pip install pocketsphinx`), a CPU
speech recogniser that ships its own English model. WER is on the same utterances.

    python local/bench_rtf.py --manifest data/manifests/test_en.jsonl --max-utts 200
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from asrkit.frontend import load_audio
from asrkit.inference import Recognizer
from asrkit.metrics import wer


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--max-utts", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    man = Path(args.manifest)
    utts = [json.loads(x) for x in man.read_text().splitlines() if x.strip()][: args.max_utts]
    paths = [man.parent / u["audio"] for u in utts]
    refs = [u["text"] for u in utts]
    waves = [load_audio(p) for p in paths]
    audio_s = sum(len(w) for w in waves) / 16000
    rows = []

    rec = Recognizer(args.model)
    rec.decode_waves(waves[:2])  # warm-up
    _, t_fb = timed(lambda: [rec.model.frontend.fbank(w) for w in waves])
    rows.append(("asrkit fbank (torch)", t_fb, None))
    try:
        import kaldi_native_fbank as knf

        def knf_all():
            for w in waves:
                o = knf.FbankOptions()
                o.frame_opts.dither = 0.0
                o.frame_opts.window_type = "hamming"
                o.mel_opts.num_bins = 80
                f = knf.OnlineFbank(o)
                f.accept_waveform(16000, (w * 32768).tolist())
                f.input_finished()
                np.stack([f.get_frame(i) for i in range(f.num_frames_ready)])

        _, t_knf = timed(knf_all)
        rows.append(("kaldi-native-fbank (C++)", t_knf, None))
    except ImportError:
        pass

    def asrkit_all():
        hyps = []
        for i in range(0, len(paths), args.batch_size):
            hyps += rec.decode_waves([load_audio(p) for p in paths[i : i + args.batch_size]])
        return hyps

    hyps, t_asr = timed(asrkit_all)
    rows.append((f"asrkit greedy CTC, batch {args.batch_size}", t_asr, wer(refs, hyps).value))
    try:
        from pocketsphinx import Decoder

        dec = Decoder()

        def ps_all():
            out = []
            for w in waves:
                dec.start_utt()
                dec.process_raw((np.clip(w, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
                dec.end_utt()
                out.append(dec.hyp().hypstr if dec.hyp() else "")
            return out

        ps_hyps, t_ps = timed(ps_all)
        rows.append(("pocketsphinx 5 (en-us model + LM)", t_ps, wer(refs, ps_hyps).value))
    except ImportError:
        print("(pocketsphinx not installed: `pip install pocketsphinx` adds the peer row)")

    print(f"\n{len(utts)} utterances, {audio_s:.1f} s of audio, 1 CPU thread ({man.name})\n")
    print("| system | seconds | RTF | x real time | WER % | speed vs asrkit |")
    print("|---|---|---|---|---|---|")
    for name, t, w in rows:
        ref_t = t_asr if "fbank" not in name else t_fb
        wer_s = f"{w:.2f}" if w is not None else "-"
        print(f"| {name} | {t:.2f} | {t / audio_s:.4f} | {audio_s / t:.0f} | {wer_s} | {ref_t / t:.2f}x |")


if __name__ == "__main__":
    main()
