"""Mandarin scoring: the Chinese normalisation (punctuation and spaces between Han characters removed)
and the character error rate, from the function up to `asrkit score --metric cer`."""

import json

import pytest

from asrkit.cli.main import main
from asrkit.metrics import cer
from asrkit.text import chars_for_cer, normalize_text


@pytest.mark.parametrize("raw, expected", [
    ("请接受这一事实，并保持礼貌。", "请接受这一事实并保持礼貌"),  # full-width comma and full stop
    ("他说：“好！”", "他说好"),
    ("一、二；三？四！", "一二三四"),
    ("《红楼梦》「第一回」……", "红楼梦第一回"),
    ("真是‘千金之子坐不垂堂’了。", "真是千金之子坐不垂堂了"),  # ‘’ are quotes here, not apostrophes
    ("你 好 ， 世 界", "你好世界"),
    ("你\u3000好", "你好"),  # ideographic space
    ("Linux 是 一个 ＯＳ", "linux 是一个 os"),  # full-width Latin folded; spaces next to Latin words stay
    ("don't 说", "don't 说"),  # a Latin contraction keeps its apostrophe
])
def test_chinese_normalisation(raw, expected):
    assert normalize_text(raw, "zh") == expected
    assert normalize_text(raw) == expected  # mostly-Han text is detected without --lang


def test_cer_ignores_punctuation_and_spaces():
    ref, hyp = "要有礼貌的人。", "要 有 理 貌 的 人"
    assert chars_for_cer(normalize_text(hyp)) == list("要有理貌的人")
    r = cer([ref], [hyp])
    assert (r.substitutions, r.deletions, r.insertions, r.ref_len) == (1, 0, 0, 6)
    assert r.value == pytest.approx(100 / 6)
    assert cer(["真是‘千金’了。"], ["真是千金了"]).value == 0.0


def test_cer_counts_each_character():
    r = cer(["意见不一致", "善意推定"], ["意见一致啊", "善意推"])
    # 1 deletion (不) + 1 insertion (啊); 1 deletion (定): 3 errors over 9 characters
    assert (r.substitutions, r.deletions, r.insertions, r.ref_len) == (0, 2, 1, 9)
    assert r.value == pytest.approx(100 * 3 / 9)


def test_score_cli_cer_on_chinese(tmp_path, capsys):
    ref = tmp_path / "ref.jsonl"
    hyp = tmp_path / "hyp.jsonl"
    ref.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in
                           [("a", "请接受这一事实，并保持礼貌。"), ("b", "他说：“好！”")]))
    hyp.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in
                           [("a", "请 接受 这一 是实 并保持礼貌"), ("b", "他说好")]))
    assert main(["score", "--ref", str(ref), "--hyp", str(hyp), "--metric", "cer", "--lang", "zh", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["errors"], out["ref_len"], out["substitutions"]) == (1, 15, 1)
    assert out["value"] == pytest.approx(100 / 15)
