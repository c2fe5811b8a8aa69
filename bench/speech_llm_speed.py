#!/usr/bin/env python3
"""Speech-LLM decoding speed: the bundled tiny model on CPU, and a full MooER-sized model with random weights.

``tiny``: real-time factor of ``bible-en-speechllm-tiny`` on the first N test_en utterances at batch 1
and 8, greedy and 4 beams, for the peer (Hugging Face ``generate`` on the spliced inputs, MooER's own
decoding) and asrkit's autoregressive search (``ar_beam_search`` through ``LLMDecoding``, the search the
LM-fusion methods run on), measured in the same run; it also counts how many hypotheses are identical.

    OMP_NUM_THREADS=1 python bench/speech_llm_speed.py tiny --max-utts 64

``full``: the MooER-7B shapes (Paraformer-large SANM encoder 50 x 512, adapter 1024 -> 2048 -> 3584,
Qwen2-7B: 28 layers x 3584, 28 heads / 4 KV heads, FFN 18944, vocabulary 152064) with random weights in
bfloat16, decoded by Hugging Face ``generate`` through ``SpeechLLM`` (same splicing as a real MooER
folder). Time to first token = features + encoder + adapter + prefill + one token (``max_new_tokens=1``);
decoding speed = (new tokens - batch) / (time(N tokens) - time(1 token)), generating exactly N tokens
(``min_new_tokens = N``, random weights never choose to stop). Prompt token ids come from the bundled
tokenizer (a few tokens shorter than Qwen's for the same prompt text).

    python bench/speech_llm_speed.py full --device cuda --batches 1 8 --beams 1 4 --new-tokens 64
    python bench/speech_llm_speed.py full --device cpu --batches 1 --beams 1 --new-tokens 8   # ~16 GB RAM
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asrkit.frontend import load_audio  # noqa: E402
from asrkit.models.speech_llm import load_speech_llm  # noqa: E402

MANIFEST = ROOT / "egs/bible/data/manifests/test_en.jsonl"


def _waves(manifest: Path, n: int) -> list[np.ndarray]:
    utts = [json.loads(x) for x in manifest.read_text().splitlines() if x.strip()][:n]
    return [load_audio(manifest.parent / u["audio"]) for u in utts]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def tiny(args: argparse.Namespace) -> list[dict]:
    from asrkit.inference.decode_config import DecodeConfig
    from asrkit.inference.llm_decoding import LLMDecoding

    model = load_speech_llm(args.model)
    waves = _waves(Path(args.manifest), args.max_utts)
    seconds = sum(len(w) for w in waves) / 16000
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))  # similar lengths share a batch
    print(f"{len(waves)} utterances, {seconds:.1f} s of audio, {torch.get_num_threads()} thread(s)", file=sys.stderr)
    rows = []
    for beams in args.beams:
        for batch in args.batches:
            texts = {}
            for impl in ("hf_generate", "asrkit"):
                cfg = DecodeConfig(method="greedy" if beams == 1 else "beam", beam=beams, task="asr")
                decode = LLMDecoding(cfg, model)
                hyps = [""] * len(waves)
                t0 = time.perf_counter()
                for s in range(0, len(order), batch):
                    idx = order[s : s + batch]
                    chunk = [waves[i] for i in idx]
                    if impl == "hf_generate":
                        out = model.generate(chunk, "asr", num_beams=beams, min_new_tokens=0)
                    else:
                        out = decode(chunk)
                    for i, t in zip(idx, out):
                        hyps[i] = t
                elapsed = time.perf_counter() - t0
                texts[impl] = hyps
                n_tok = sum(len(model.tokenizer.encode(h)) + 1 for h in hyps)
                rows.append({"impl": impl, "beams": beams, "batch": batch, "seconds": elapsed,
                             "rtf": elapsed / seconds, "tokens_per_s": n_tok / elapsed})
                print(f"  {impl} beams {beams} batch {batch}: {elapsed:.1f} s, RTF {elapsed / seconds:.4f}",
                      file=sys.stderr)
            same = sum(a == b for a, b in zip(texts["hf_generate"], texts["asrkit"]))
            rows[-1]["same_hyps"] = f"{same}/{len(waves)}"
            rows[-1]["vs_peer"] = rows[-2]["seconds"] / rows[-1]["seconds"]
    return rows


def _full_model(device: torch.device, dtype: torch.dtype, layers: int | None):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from asrkit.models.speech_llm.config import AdapterConfig, SpeechLLMConfig
    from asrkit.models.speech_llm.model import SpeechLLM

    tiny_model = load_speech_llm(ROOT / "asrkit/pretrained/bible-en-speechllm-tiny")  # tokenizer + am.mvn only
    qcfg = Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                       num_hidden_layers=layers or 28, num_attention_heads=28, num_key_value_heads=4,
                       max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                       tie_word_embeddings=False)
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # build the LLM in bf16 directly: an fp32 7B model would need 30 GB first
    try:
        with torch.device(device):
            llm = Qwen2ForCausalLM(qcfg)
    finally:
        torch.set_default_dtype(old)
    # Encoder (158M) and adapter stay fp32 as SpeechLLM keeps them; autocast runs their matmuls in bf16.
    cfg = SpeechLLMConfig(adapter=AdapterConfig(encoder_dim=512, llm_dim=3584, hidden_dim=2048))
    with torch.device(device):
        model = SpeechLLM(cfg, llm, tiny_model.tokenizer, cmvn=tiny_model.frontend.cmvn)
    return model, sum(p.numel() for p in model.parameters())


def _timed_generate(model, chunk: list[np.ndarray], beams: int, n: int, dtype: torch.dtype) -> float:
    """Seconds for HF generate of exactly ``n`` new tokens per row, audio front end included."""
    device = model.device
    _sync(device)
    t = time.perf_counter()
    with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        model.generate_ids(chunk, "asr", num_beams=beams, max_new_tokens=n, min_new_tokens=n)
    _sync(device)
    return time.perf_counter() - t


def full(args: argparse.Namespace) -> list[dict]:
    device = torch.device(args.device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    t0 = time.perf_counter()
    model, n_params = _full_model(device, dtype, args.layers)
    print(f"built {n_params / 1e9:.2f}B parameters ({args.dtype}) on {device} in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    waves = _waves(Path(args.manifest), max(args.batches))
    rows = []
    for beams in args.beams:
        for batch in args.batches:
            chunk = waves[:batch]
            audio_s = sum(len(w) for w in chunk) / 16000
            def run(n: int, chunk=chunk, beams=beams) -> float:
                return _timed_generate(model, chunk, beams, n, dtype)

            run(2)  # warm-up (kernels, allocator)
            ttft = min(run(1) for _ in range(args.repeats))
            t_n = min(run(args.new_tokens) for _ in range(args.repeats))
            tok_s = batch * (args.new_tokens - 1) / max(t_n - ttft, 1e-9)
            if device.type == "cuda":
                mem = torch.cuda.max_memory_allocated() / 2**30
            else:  # peak resident memory of the process
                import resource

                mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            rows.append({"impl": "hf_generate", "beams": beams, "batch": batch, "audio_s": audio_s,
                         "ttft_s": ttft, "tokens_per_s": tok_s, "seconds": t_n, "peak_gib": mem,
                         "rtf_at_n_tokens": t_n / audio_s})
            print(f"  beams {beams} batch {batch}: TTFT {ttft:.3f} s, {tok_s:.1f} tokens/s", file=sys.stderr)
    return rows


def table(rows: list[dict]) -> str:
    keys = [k for k in rows[0] if k != "impl"]
    for r in rows:
        keys += [k for k in r if k not in keys and k != "impl"]
    lines = ["| impl | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for r in rows:
        cells = [f"{r[k]:.4g}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys]
        lines.append(f"| {r['impl']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tiny", help="bundled tiny model, CPU RTF, HF generate vs asrkit search")
    t.add_argument("--model", default="bible-en-speechllm-tiny")
    t.add_argument("--max-utts", type=int, default=64)
    t.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    t.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    f = sub.add_parser("full", help="MooER-7B-shaped random model: time to first token, tokens/s")
    f.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    f.add_argument("--dtype", default="bf16", choices=("bf16", "fp16", "fp32"))
    f.add_argument("--layers", type=int, default=None, help="fewer LLM layers (a quick check of the script)")
    f.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    f.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    f.add_argument("--new-tokens", type=int, default=64)
    f.add_argument("--repeats", type=int, default=2)
    for p in (t, f):
        p.add_argument("--manifest", default=str(MANIFEST))
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # min_new_tokens vs MooER's min_length notice, once per call
    rows = tiny(args) if args.cmd == "tiny" else full(args)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
