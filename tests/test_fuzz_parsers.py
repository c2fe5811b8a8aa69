"""Fuzzing every parser a user feeds (issue 13): any bytes give a result or one UserError line, never another
exception. Bounded (examples and a deadline per example) so the suite stays fast; under CI the examples are
derandomized, so a run is reproducible."""

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asrkit.errors import UserError

# One bound for every fuzz test (a decorator, so no global hypothesis profile changes for other test files).
# ASRKIT_FUZZ_EXAMPLES=2000 runs a deeper search by hand.
FUZZ = settings(max_examples=int(os.environ.get("ASRKIT_FUZZ_EXAMPLES", "50")), deadline=2000, database=None,
                derandomize=bool(os.environ.get("CI")), suppress_health_check=[HealthCheck.too_slow])


_WORKDIR = Path(tempfile.mkdtemp(prefix="asrkit-fuzz-"))  # one folder for all examples: faster than one each
atexit.register(shutil.rmtree, _WORKDIR, ignore_errors=True)


def _one_line_or_result(parse: Callable[[Path], object], data: bytes, name: str) -> object:
    """Write ``data`` to a file called ``name`` and parse it: a result, or a UserError of one line."""
    path = _WORKDIR / name
    path.write_bytes(data)
    try:
        return parse(path)
    except UserError as err:
        assert str(err) and "\n" not in str(err), repr(str(err))
        return err


def _lines_of(alphabet: list[bytes]) -> st.SearchStrategy[bytes]:
    """Text-like bytes: lines built from fragments that matter to the parser, mixed with random bytes."""
    piece = st.one_of(st.sampled_from(alphabet), st.binary(max_size=12))
    line = st.lists(piece, max_size=6).map(b"".join)
    return st.lists(line, max_size=8).map(b"\n".join)


def _json_values() -> st.SearchStrategy:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                       st.text(max_size=8))
    return st.recursive(leaves, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                       st.dictionaries(st.text(max_size=6), kids, max_size=3)),
                        max_leaves=8)


# ---- decode inputs: JSONL manifests and wav.scp -------------------------------------------------------------
MANIFEST_BITS = [b'{"id": "a", "audio": "x.wav"}', b'{"id": ', b'"audio": ', b"null", b"123", b'""', b"\xef\xbb\xbf",
                 b"\xff\xfe", b"[", b"}", b'"text": 5', b"\x00", b"\r"]


def _inputs(path: Path) -> list:
    from asrkit.data.inputs import InputError, Utterance, iter_inputs

    items = list(iter_inputs([str(path)]))
    assert items and all(isinstance(x, (Utterance, InputError)) for x in items)
    for x in items:
        if isinstance(x, Utterance):
            assert isinstance(x.id, str) and x.id.strip() and "\x00" not in str(x.audio)
        else:
            assert "\n" not in str(x)
    return items


@FUZZ
@given(st.one_of(st.binary(max_size=300), _lines_of(MANIFEST_BITS)))
def test_fuzz_jsonl_manifest(data):
    _one_line_or_result(_inputs, data, "m.jsonl")


@FUZZ
@given(_json_values())
def test_fuzz_manifest_json_values(value):
    _one_line_or_result(_inputs, (json.dumps(value) + "\n").encode(), "m.jsonl")


@FUZZ
@given(st.one_of(st.binary(max_size=300), _lines_of([b"utt1 ", b"a.wav", b" |", b"\t", b"\xff", b"\x00", b" "])))
def test_fuzz_wav_scp(data):
    _one_line_or_result(_inputs, data, "wav.scp")


# ---- references for scoring: Kaldi text and JSONL -----------------------------------------------------------
@FUZZ
@given(st.one_of(st.binary(max_size=300), _lines_of([b"utt1 ", b"hello world", b"{", b'{"id": 1, "text": "a"}',
                                                      b"\xff", b"\t"])))
@pytest.mark.parametrize("name", ["text", "refs.jsonl"])
def test_fuzz_kaldi_text_and_references(name, data):
    from asrkit.metrics.references import load_hypotheses, load_references

    result = _one_line_or_result(load_references, data, name)
    assert isinstance(result, (dict, UserError))
    _one_line_or_result(load_hypotheses, data, name)


# ---- --known-words (text or ARPA 1-grams) -------------------------------------------------------------------
@FUZZ
@given(st.one_of(st.binary(max_size=300), _lines_of([b"\\data\\", b"\\1-grams:", b"-1.0\tword", b"<s>", b"the end",
                                                      b"\xff", b"\t", b"!"])))
def test_fuzz_known_words(data):
    from asrkit.inference.hotword_aliases import read_known_words

    result = _one_line_or_result(read_known_words, data, "known.txt")
    assert isinstance(result, UserError) and "--known-words" in str(result) or (
        result and all(w and " " not in w for w in result))


# ---- am.mvn -------------------------------------------------------------------------------------------------
MVN_BITS = [b"<Nnet>", b"<AddShift> 2 2", b"<Rescale> 2 2", b"<LearnRateCoef> 0 [ 1 2 ]", b"[ 0 ]", b"nan", b"inf",
            b"<LearnRateCoef> 0 [ ]", b"</Nnet>", b"x"]


@FUZZ
@given(st.one_of(st.binary(max_size=300), _lines_of(MVN_BITS)))
def test_fuzz_am_mvn(data):
    from asrkit.frontend import GlobalCMVN

    result = _one_line_or_result(GlobalCMVN.from_file, data, "am.mvn")
    assert isinstance(result, (GlobalCMVN, UserError))


# ---- ARPA header --------------------------------------------------------------------------------------------
ARPA_BITS = [b"\\data\\", b"ngram 1=3", b"\\1-grams:", b"-1.0\t<s>", b"-0.5\thello\t-0.1", b"\\2-grams:", b"\\end\\",
             b"-1.0", b"\xff", b"\t"]


@FUZZ
@given(st.one_of(st.binary(max_size=300), _lines_of(ARPA_BITS)))
def test_fuzz_arpa_header(data):
    from lm.ngram.kenlm_lm import kenlm_message, read_unigrams

    result = _one_line_or_result(read_unigrams, data, "lm.arpa")
    assert isinstance(result, (list, UserError))
    assert "\n" not in kenlm_message(data.decode("utf-8", errors="replace"))


# ---- config JSON: decoding, model, training -----------------------------------------------------------------
def _decode_config(path):
    from asrkit.inference.decode_config import DecodeConfig

    return DecodeConfig.load(path).check()


def _model_decoding_defaults(path):
    """A model folder's decoding.json (``path``'s bytes), under the flags of a run."""
    from asrkit.inference.decode_config import MODEL_DEFAULTS, decoding_config

    (path.parent / MODEL_DEFAULTS).write_bytes(path.read_bytes())
    return decoding_config(None, {"method": "beam"}, path.parent).check()


def _ctc_config(path):
    from asrkit.models.ctc import CTCModelConfig
    from asrkit.utils.config_io import read_json_object

    return CTCModelConfig.from_dict(read_json_object(path), str(path))


def _speech_llm_config(path):
    from asrkit.models.speech_llm.config import SpeechLLMConfig
    from asrkit.utils.config_io import read_json_object

    return SpeechLLMConfig.from_dict(read_json_object(path), str(path))


def _train_config(path):
    from asrkit.train.config import TrainConfig

    return TrainConfig.load(path)


def _lm_train_config(path):
    from asrkit.train.lm import LMTrainConfig

    return LMTrainConfig.load(path)


# Keys that reach the deeper checks: each loader's own field names, nested sections included.
CONFIG_KEYS = ["method", "beam", "lm_weight", "lm", "format", "model_type", "vocab_size", "encoder", "frontend",
               "fbank", "output_size", "num_blocks", "sanm_shfit", "type", "codec", "strides", "upsample", "adapter",
               "encoder_dim", "downsample_rate", "lora", "target_modules", "prompts", "encoder_type", "optim", "lr",
               "epochs", "units", "hertz", "model", "d_model", "n_heads", "positions", "hotword_weight",
               "hotword_beam"]


def _configs() -> st.SearchStrategy:
    """Objects of known keys with odd values, one level of nesting."""
    inner = st.dictionaries(st.sampled_from(CONFIG_KEYS), _json_values(), max_size=4)
    return st.dictionaries(st.sampled_from(CONFIG_KEYS), st.one_of(_json_values(), inner), max_size=5)


ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "egs" / "bible" / "conf"
PRETRAINED = ROOT / "asrkit" / "pretrained"


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


# Each loader with real configs it reads: mutating them reaches the checks below the top level.
CONFIG_CASES = [
    (_decode_config, [{"format": 2, "method": "beam", "beam": 4, "lm_weight": 0.5, "search_beam": 16.0}]),
    (_model_decoding_defaults, [_read(PRETRAINED / "bible-en-ctc-char" / "decoding.json")]),
    (_ctc_config, [_read(PRETRAINED / "bible-en-ctc-small" / "config.json")]),
    (_speech_llm_config, [_read(PRETRAINED / "bible-en-speechllm-tiny" / "config.json")]),
    (_train_config, [_read(CONF / "ctc_small_stage2.json"), _read(CONF / "ctc_hertz_small.json")]),
    (_lm_train_config, [_read(CONF / "lm_transformer_small.json")]),
]
_DELETE = object()
ODD_VALUES = st.one_of(st.sampled_from([0, -1, 1, 2, 3, 7, 0.5, -0.5, 1e9, "", "x", None, True, False, [], {}, [0],
                                        {"a": 1}, "sanm", "hertz", _DELETE]), _json_values())


def _paths(obj, prefix=()):
    if prefix:
        yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _child(node, key):
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None


@st.composite
def _mutated(draw, base: dict) -> dict:
    """``base`` with one to three values replaced by odd ones (or removed), and maybe a key added."""
    obj = json.loads(json.dumps(base))
    paths = list(_paths(base))
    for _ in range(draw(st.integers(1, 3))):
        *parents, last = draw(st.sampled_from(paths))
        node = obj
        for key in parents:  # an earlier mutation may have replaced a parent: then this one is skipped
            node = _child(node, key)
        value = draw(ODD_VALUES)
        value = value if value is _DELETE else json.loads(json.dumps(value))  # a fresh copy: no shared objects
        if isinstance(node, dict) and isinstance(last, str):
            if value is _DELETE:
                node.pop(last, None)
            else:
                node[last] = value
        elif isinstance(node, list) and isinstance(last, int) and last < len(node) and value is not _DELETE:
            node[last] = value
    if draw(st.booleans()):
        obj[draw(st.sampled_from(CONFIG_KEYS))] = json.loads(json.dumps(draw(ODD_VALUES.filter(
            lambda v: v is not _DELETE))))
    return obj


# Built once (strategies are validated when first drawn from; building them per example is slow).
_ANY_CONFIG = st.one_of(st.binary(max_size=200), _configs().map(lambda o: json.dumps(o).encode()))
PAYLOADS = {load: st.one_of(_ANY_CONFIG, *(_mutated(b).map(lambda o: json.dumps(o).encode()) for b in bases))
            for load, bases in CONFIG_CASES}


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("load, bases", [pytest.param(f, b, id=f.__name__.strip("_")) for f, b in CONFIG_CASES])
def test_fuzz_config_json(load, bases, data):
    for base in bases:  # the real configs load
        assert not isinstance(_one_line_or_result(load, json.dumps(base).encode(), "config.json"), UserError)
    _one_line_or_result(load, data.draw(PAYLOADS[load]), "config.json")


# ---- what --resume reads back: decode results and tune rows -------------------------------------------------
RESULT_BITS = [b'{"id": "a", "text": "x"}', b'{"id": 1, "text": ""}', b'{"key": "{}", "score": 1}', b"null", b'{"id',
               b"\xff", b"\r"]


@FUZZ
@given(st.one_of(st.binary(max_size=200), _lines_of(RESULT_BITS)))
def test_fuzz_results_reader(data):
    from asrkit.data.results import read_results
    from asrkit.inference.tuning import tune_row_problem

    def read_twice(path):
        rows = read_results(path)  # repairs a cut last line in place ...
        assert read_results(path) == rows  # ... after which the file reads the same
        return rows

    _one_line_or_result(read_twice, data, "hyp.jsonl")
    _one_line_or_result(lambda p: read_results(p, tune_row_problem), data, "tune.jsonl")


# ---- audio: the WAV header check and the loader -------------------------------------------------------------
@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 st.tuples(st.binary(max_size=40), st.integers(0, 2**32 - 1), st.binary(max_size=60)).map(
                     lambda t: b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + t[0][:16].ljust(16, b"\x01")
                     + b"data" + t[1].to_bytes(4, "little") + t[2])))
def test_fuzz_audio_file(data):
    from asrkit.frontend import load_audio
    from asrkit.frontend.wav_header import declared_wav_frames

    _one_line_or_result(declared_wav_frames, data, "a.wav")
    _one_line_or_result(load_audio, data, "a.wav")
