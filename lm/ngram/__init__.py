"""N-gram language models: build them with KenLM's ``lmplz``, score them with the ``kenlm`` module, and
convert them to a Kaldi-style ``G.fst`` (see docs/lm.md, "N-gram LMs")."""

from lm.ngram.build import build_ngram

__all__ = ["build_ngram", "KenLM", "build_gfst"]


def __getattr__(name: str):
    # Lazy: importing the package to build an ARPA should not load the kenlm or kaldilm extensions.
    if name == "KenLM":
        from lm.ngram.kenlm_lm import KenLM

        return KenLM
    if name == "build_gfst":
        from lm.ngram.gfst import build_gfst

        return build_gfst
    raise AttributeError(name)
