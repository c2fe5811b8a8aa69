"""Perplexity of a speech LLM's internal LM estimate (the LLM on the prompt alone, no audio) on text.

ILME subtracts ``mu log p_ILM(y)`` with ``p_ILM`` = ``SpeechLLM.prompt_only_lm(task)``; this shows what
that term is: how well the LLM predicts a domain's transcripts without hearing anything. Each line is
scored as an answer, ``log p(y_1..y_n <|im_end|> | prompt)``, in the form the LLM writes (cased and
punctuated text from the manifests). Word perplexity divides by the whitespace words of the normalised
text plus one end per sentence (as ``asrkit lm ppl``), so it compares with the n-gram LMs' numbers.

    python local/ilm_ppl.py --model MODEL --task asr --text bible=data/manifests/test_en.jsonl \\
        fortunes=data/manifests/fortunes_test_en.jsonl [--field text] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math

import torch

from asrkit.models.speech_llm import load_speech_llm
from asrkit.text import normalize_text


def manifest_texts(path: str, field: str) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                t = str(json.loads(line).get(field, "")).strip()
                if t:
                    out.append(t)
    return out


@torch.inference_mode()
def ilm_perplexity(model, task: str, texts: list[str], batch_size: int = 32) -> dict:
    lm = model.prompt_only_lm(task)
    ids = [model.tokenizer.encode(t) for t in texts]
    total = 0.0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        total += float(lm.score_sentences(chunk, rows=[0] * len(chunk)).double().sum())
    n_tok = sum(len(i) for i in ids)
    n_words = sum(len(normalize_text(t).split()) for t in texts)
    n = len(texts)
    return {"sentences": n, "tokens": n_tok, "words": n_words, "logprob": total,
            "ppl_token": math.exp(-total / (n_tok + n)), "ppl_word": math.exp(-total / (n_words + n))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--task", default="asr")
    ap.add_argument("--text", nargs="+", required=True, help="NAME=MANIFEST.jsonl")
    ap.add_argument("--field", default="text", help="manifest field holding the answer text")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_speech_llm(args.model)
    res = {}
    for spec in args.text:
        name, path = spec.split("=", 1)
        res[name] = ilm_perplexity(model, args.task, manifest_texts(path, args.field))
        r = res[name]
        print(f"{name}: {r['sentences']} sentences, ILM token ppl {r['ppl_token']:.1f}, word ppl {r['ppl_word']:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
