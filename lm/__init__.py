"""Language models behind one interface (``lm.interface.LanguageModel``)."""
