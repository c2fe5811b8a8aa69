"""The output line of one input decoded long-form: ``id``, ``text``, ``segments`` and, asked for, ``words``.

    {"id": "talk", "text": "all segment texts", "segments": [{"start": 0.52, "end": 6.1, "text": "..."}, ...],
     "words": [{"word": "all", "start": 0.71, "end": 0.83}, ...]}

Times are seconds from the start of the input, rounded to milliseconds; segments and words increase.
Segments whose text is empty are left out. The ``asr_ast`` task answers "transcript\\ntranslation" per
segment: the output has ``text`` and ``translation`` (segment parts joined) and each segment both.
"""

from __future__ import annotations

from asrkit.longform.transcriber import Transcript


def transcript_record(uid: str, transcript: Transcript, task: str = "asr", timestamps: bool = False) -> dict:
    if task != "asr_ast":
        return {"id": uid, "text": transcript.text, **transcript.fields(timestamps)}
    from asrkit.models.speech_llm.prompt import split_multitask

    segments, texts, translations = [], [], []
    for seg in transcript.segments:
        if not seg.text:
            continue
        text, translation = split_multitask(seg.text)
        texts.append(text)
        translations.append(translation or "")
        segments.append({**seg.to_dict(), "text": text, "translation": translation or ""})
    return {"id": uid, "text": " ".join(t for t in texts if t), "translation": " ".join(t for t in translations if t),
            "segments": segments}
