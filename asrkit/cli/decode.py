"""`asrkit decode`: transcribe files, folders, wav.scp lists, JSONL manifests or Lhotse CutSets into HYP.jsonl.

Inputs of any length: one longer than ``--max-duration`` (default 30 s; a speech LLM never gets more than
20 s) is cut into speech segments by a VAD (``--vad silero``, or ``energy`` as a fallback), the segments
are decoded in batches with bounded memory, and the input gets one line with ``id``, ``text`` and
``segments`` (``--timestamps``: also ``words``; ``--format srt|vtt``: also a subtitle file per input).
See docs/long_form.md.

Methods (see docs/decoding.md for the equations): greedy, beam, shallow_fusion, rescore, density_ratio,
lodr, ilme, tlg. ``--config tuned.json`` (written by ``asrkit tune``) sets the method and weights; flags
given on the command line override it.

Results are appended and flushed as each batch finishes, so an interrupted job keeps its work;
``--resume`` skips ids already in the output (and first cuts off a last line left half-written by a kill or a
full disk, so that utterance is decoded again). The output, model, LMs and inputs are all checked before the
output is touched; an output that is also an input, or an existing file that asrkit did not write, is refused.
A bad input gets one error line and the job goes on; the exit status is 1 when any input failed. A file name
starting with ``-`` goes after ``--`` (``asrkit decode -o hyp.jsonl -- -take1.wav``) or as ``./-take1.wav``.
Under ``torchrun`` each rank decodes every WORLD_SIZE-th utterance into ``OUTPUT.rankN`` and rank 0 merges
them into OUTPUT in input order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from asrkit.cli.argtypes import non_negative_float, positive_int
from asrkit.data.inputs import InputError, Utterance, iter_inputs
from asrkit.data.results import ResultWriter, check_output_path, read_results, write_lines_atomic
from asrkit.errors import UserError
from asrkit.inference.decode_config import CTC_BEAM, METHODS, DecodeConfig
from asrkit.inference.recognizer import Recognizer
from asrkit.longform.records import transcript_record
from asrkit.longform.source import open_source
from asrkit.longform.subtitles import FORMATS, write_subtitles
from asrkit.longform.transcriber import LongFormTranscriber
from asrkit.longform.vad import VADS
from asrkit.models.speech_llm.prompt import split_multitask
from asrkit.utils.progress import progress, silence_libraries


def add_decoding_args(p: argparse.ArgumentParser) -> None:
    """The DecodeConfig flags, shared with `asrkit tune`. Defaults are None so a --config file can fill them."""
    d = DecodeConfig()
    g = p.add_argument_group("decoding method (defaults in brackets)")
    g.add_argument("--config", default=None, help="decoding config JSON (e.g. from `asrkit tune`); its fields "
                        "override the model folder's decoding.json (docs/models.md), flags override both")
    g.add_argument("--method", default=None, choices=METHODS, help=f"decoding method (docs/decoding.md) [{d.method}]")
    g.add_argument("--beam", type=int, default=None,
                   help=f"hypotheses kept by the beam searches [CTC {CTC_BEAM}; speech LLM: its "
                        "generation.num_beams, MooER 4]; TLG's margin is --search-beam")
    g.add_argument("--nbest", type=int, default=None, help=f"first-pass hypotheses for rescore [{d.nbest}]")
    g.add_argument("--prune-topk", type=int, default=None,
                   help="pre-beam: CTC units tried per frame [beam]; speech LLM with scorers: the head's most likely "
                        "tokens per step that the LMs, CTC and hotwords score [2 * beam]")
    g.add_argument("--token-min-logp", type=float, default=None,
                   help="CTC: only units with log p >= this extend a prefix (faster; e.g. -5) [off]")
    g.add_argument("--beam-prune-logp", type=float, default=None,
                   help="CTC: drop prefixes this far (log) below the frame's best (faster; e.g. 10) [off]")
    g.add_argument("--recombine", action="store_true", default=None,
                   help="CTC beam methods with n-gram LMs, bonuses and hotwords: after each frame drop a prefix whose "
                        "every scorer state equals a better prefix's (history pruning; faster, and keeps more distinct "
                        "hypotheses in a small beam) [off]")
    g.add_argument("--lm", default=None, help="external LM: ARPA/KenLM binary (word or token), LM folder, HF folder")
    g.add_argument("--lm-weight", type=float, default=None, help=f"lambda [{d.lm_weight}]")
    g.add_argument("--source-lm", default=None, help="density_ratio/lodr: LM of the acoustic training text")
    g.add_argument("--source-weight", type=float, default=None, help=f"mu, subtracted [{d.source_weight}]")
    g.add_argument("--ilm", default=None, help="ilme on CTC: label prior JSON from `asrkit lm prior`")
    g.add_argument("--ilm-weight", type=float, default=None, help=f"mu, subtracted [{d.ilm_weight}]")
    g.add_argument("--insertion-bonus", type=float, default=None,
                   help=f"added per unit, in every beam search (rescore's first pass too) [{d.insertion_bonus}]")
    g.add_argument("--word-bonus", type=float, default=None,
                   help=f"added per word (pyctcdecode's beta), in every beam search and tlg [{d.word_bonus}]")
    g.add_argument("--blank-penalty", type=float, default=None,
                   help=f"CTC: subtracted from log p(blank) per frame [{d.blank_penalty}]")
    g.add_argument("--oov-penalty", type=float, default=None, help=f"word LMs: out-of-vocabulary [{d.oov_penalty}]")
    g.add_argument("--graph", default=None, help="tlg: graph folder from `asrkit lm tlg`")
    g.add_argument("--search-beam", type=float, default=None,
                   help=f"tlg: log-score margin of the Viterbi search [{d.search_beam:g}]")
    g.add_argument("--max-active", type=int, default=None, help=f"tlg: active states [{d.max_active}]")
    g.add_argument("--hotwords", default=None, metavar="FILE",
                   help="bias towards these phrases (one per line, optional phrase<TAB>weight<TAB>alias|alias; "
                        "`asrkit hotwords aliases` adds aliases), any beam method")
    g.add_argument("--hotword-weight", type=float, default=None,
                   help=f"bonus per matched hotword unit (times the phrase's weight) [{d.hotword_weight:g}]")
    g.add_argument("--hotword-fuzzy", type=float, default=None, metavar="D",
                   help="an output word not in --known-words and this close to a hotword or alias (normalised "
                        f"edit distance) becomes the hotword; 0 = off [{d.hotword_fuzzy:g}]")
    g.add_argument("--hotword-check", type=float, default=None, metavar="NATS",
                   help="CTC: a run of output words not in --known-words whose frames the emissions spell as a "
                        "hotword within NATS per unit of their best path becomes the hotword; 0 = off "
                        f"[{d.hotword_check:g}]")
    g.add_argument("--hotword-reject", type=float, default=None, metavar="NATS",
                   help="CTC: a hotword the search wrote more than NATS per unit below the best path over its "
                        "frames becomes that path's reading when it is words of --known-words; 0 = off "
                        f"[{d.hotword_reject:g}]")
    g.add_argument("--known-words", default=None, metavar="FILE",
                   help="--hotword-fuzzy/-check/-reject: text or ARPA file of real words (e.g. the LM's text)")
    g.add_argument("--hotword-beam", type=int, default=None,
                   help="CTC: of the beam's hypotheses, up to this many are kept for partial hotword matches; "
                        f"the others are ranked without their provisional bonus (0: all with it) [{d.hotword_beam}]")
    g.add_argument("--ctc-weight", type=float, default=None,
                   help="speech LLM, --task asr: weight of the adapter's CTC prefix score in the beam search "
                        f"(joint CTC/attention decoding) [{d.ctc_weight:g}]")
    g.add_argument("--task", default=None, choices=("asr", "ast", "asr_ast"), help="speech LLM task [asr]")
    g.add_argument("--llm", default=None,
                   help="speech LLM: local Qwen2(-Instruct) folder for a MooER release (tune records it in best.json)")
    g.add_argument("--length-penalty", type=float, default=None,
                   help=f"speech LLM: score / |y|^alpha [{d.length_penalty}]")
    g.add_argument("--eos-bias", type=float, default=None, help=f"speech LLM: added to log p(eos) [{d.eos_bias}]")
    g.add_argument("--max-new-tokens", type=int, default=None,
                   help=f"speech LLM: longest answer, in tokens [{d.max_new_tokens}]")


def decoding_settings(args: argparse.Namespace) -> dict:
    names = [f for f in DecodeConfig().to_dict()]
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decode", help="transcribe audio into a JSONL file", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", "-i", nargs="+", default=[], help="audio files, folders, wav.scp or .jsonl")
    p.add_argument("inputs_after_dashdash", nargs="*", default=[], metavar="INPUT",
                   help="more inputs; after `--` a name may start with '-'")
    p.add_argument("--output", "-o", required=True, help="output JSONL (one {id, text} per line)")
    p.add_argument("--model", "-m", default=None, help="model folder or bundled name (see `asrkit models`)")
    p.add_argument("--emissions", default=None, metavar="FILE.npz",
                   help="decode saved CTC log-probabilities of any model (one array per id) instead of audio")
    p.add_argument("--tokens", default=None, help="with --emissions: the units (tokens.txt or sentencepiece .model)")
    p.add_argument("--blank-id", type=int, default=None, help="with --emissions: the blank's id [<blk>/<pad> or 0]")
    add_decoding_args(p)
    p.add_argument("--batch-size", type=positive_int, default=8, help="utterances (or segments) per batch [8]")
    p.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (1 is fastest on small models)")
    p.add_argument("--resume", action="store_true", help="skip ids already present in --output")
    p.add_argument("--min-duration", type=non_negative_float, default=0.05,
                   help="seconds: a shorter input is refused with one error line [0.05]")
    p.add_argument("--max-duration", type=non_negative_float, default=None,
                   help="longest segment given to the model; longer inputs are cut by the VAD [CTC 30 s, speech "
                        "LLM 20 s, never more]")
    p.add_argument("--vad", default="silero", choices=VADS,
                   help="segments long inputs: silero (trained model) or energy (fallback) [silero]")
    p.add_argument("--timestamps", action="store_true",
                   help="add words [{word, start, end}] (CTC models; the speech LLM gives segment times only)")
    p.add_argument("--format", default="jsonl", choices=FORMATS,
                   help="also write OUTPUT_DIR/<id>.srt or .vtt per input, next to the JSONL output [jsonl]")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--streaming", action="store_true",
                   help="feed each file through the streaming path chunk by chunk, report latency (docs/streaming.md)")
    p.add_argument("--chunk-ms", type=float, default=None, help="--streaming: audio per call [the model's chunk]")
    p.add_argument("--stream-chunk-frames", type=positive_int, default=None,
                   help="--streaming: encoder chunk, 60 ms frames [the model's; 8 if not trained chunk-wise]")
    p.set_defaults(func=run)


def output_record(uid: str, text: str, task: str) -> dict:
    """One output line. ``asr_ast`` answers "transcript\\ntranslation": the two parts go to ``text`` and
    ``translation`` (score them with --hyp-field text / translation); an answer that is not two lines is all
    transcript, with an empty translation (as MooER's own inference reads it)."""
    if task != "asr_ast":
        return {"id": uid, "text": text}
    transcript, translation = split_multitask(text)
    return {"id": uid, "text": transcript, "translation": translation or ""}


def _done_ids(path: Path) -> set[str]:
    """Ids with a finished line in ``path`` (--resume); a cut last line is repaired (see asrkit/data/results.py)."""
    return {str(row["id"]) for row in read_results(path)}


def _merge(out_path: Path, world: int, order: list[str], resume: bool) -> None:
    """Rank 0: the ranks' part files (and, on --resume, OUTPUT's earlier lines) -> OUTPUT, in input order
    (lines of ids not in ``order`` go last), replaced atomically."""
    lines: dict[str, str] = {}
    parts = [out_path.with_name(f"{out_path.name}.rank{r}") for r in range(world)]
    for path in parts + ([out_path] if resume else []):
        for row in read_results(path, repair=False):
            lines.setdefault(str(row["id"]), json.dumps(row, ensure_ascii=False))
    write_lines_atomic(out_path, [lines.pop(uid) for uid in order if uid in lines] + list(lines.values()))


def run(args: argparse.Namespace) -> int:
    if args.streaming:  # the path of `asrkit serve`, fed from files (asrkit/cli/decode_streaming.py)
        from asrkit.cli.decode_streaming import run_streaming

        torch.set_num_threads(args.threads)
        return run_streaming(args, decoding_settings(args))
    if args.emissions:  # saved log-probabilities of any CTC model (asrkit/cli/decode_emissions.py)
        from asrkit.cli.decode_emissions import run_emissions

        torch.set_num_threads(args.threads)
        return run_emissions(args, decoding_settings(args))
    inputs = [*args.input, *args.inputs_after_dashdash]
    if not inputs:
        raise UserError("no input: give --input FILE... (or the files after `--`)")
    if args.quiet:
        silence_libraries()
    torch.set_num_threads(args.threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    final_path = Path(args.output)
    out_path = final_path.with_name(f"{final_path.name}.rank{rank}") if world > 1 else final_path
    # Everything is checked (output path, model, LMs, graph) before the output is touched.
    read_only = [*inputs, args.config, args.lm, args.source_lm, args.ilm, args.hotwords, args.graph]
    check_output_path(final_path, args.resume, read_only)
    if world > 1:
        check_output_path(out_path, args.resume, read_only)
    max_s = args.max_duration if args.max_duration is not None else float("inf")  # segments are capped below
    rec = Recognizer(args.model, args.config, args.min_duration, max_s, **decoding_settings(args))

    items = list(iter_inputs(inputs))
    done = _done_ids(out_path) if args.resume else set()
    if world > 1 and args.resume:
        done |= _done_ids(final_path)
    order = [it.id for it in items if isinstance(it, Utterance)]
    if world > 1:
        items = items[rank::world]
    n_failed = 0
    n_written = 0
    audio_s = 0.0
    t0 = time.perf_counter()
    seen: dict[str, Path] = {}
    # Inputs of any length: a long one is cut into speech segments by the VAD (asrkit/longform, docs/long_form.md).
    long_form = LongFormTranscriber(rec, vad=args.vad, max_duration=args.max_duration, batch_size=args.batch_size,
                                    words=args.timestamps or args.format != "jsonl", min_duration=args.min_duration,
                                    threads=args.threads)

    def fail(msg: str) -> None:
        nonlocal n_failed
        n_failed += 1
        print(f"asrkit decode: error: {msg}", file=sys.stderr)

    with ResultWriter(out_path, fresh=not args.resume) as out:

        def write(transcripts) -> None:
            nonlocal n_written, audio_s
            rows = []
            for tr in transcripts:
                if tr.error is not None:
                    fail(str(tr.error))
                    continue
                rows.append(transcript_record(tr.key.id, tr, rec.config.task, args.timestamps))
                if args.format != "jsonl":
                    write_subtitles(tr, tr.key.id, final_path, args.format)
                audio_s += tr.duration
            out.write(rows)
            n_written += len(rows)

        bar = progress(items, desc="decode", unit="utt", disable=args.quiet or rank > 0)
        long_form.on_batch = lambda s: bar.set_postfix_str(f"{s / 60:.1f} min of speech decoded", refresh=True)
        for item in bar:
            if isinstance(item, InputError):
                fail(str(item))
                continue
            if item.id in done:
                continue
            if item.id in seen:
                fail(f"{item.audio}: duplicate utterance id {item.id!r} (also {seen[item.id]}); skipped")
                continue
            seen[item.id] = item.audio
            try:
                long_form.add(item, open_source(item.audio, item.start, item.duration, item.channel))
            except UserError as err:
                fail(str(err))
                continue
            write(long_form.ready())
        write(long_form.finish())
    elapsed = time.perf_counter() - t0
    if world > 1:
        from asrkit.train.distributed import barrier, cleanup, setup

        setup()
        barrier()  # every rank's part file is complete
        if rank == 0:
            _merge(final_path, world, order, args.resume)
        barrier()
        cleanup()
    rtf = f", RTF {elapsed / audio_s:.4f}" if audio_s else ""
    skipped = f", {len(done)} already done" if done else ""
    where = f"{out_path} (rank {rank}/{world}, merged into {final_path})" if world > 1 else str(out_path)
    print(f"asrkit decode: {n_written} decoded, {n_failed} failed{skipped}{rtf} -> {where}", file=sys.stderr)
    if n_written == 0 and n_failed > 0 and not done:
        return 1
    return 1 if n_failed else 0
