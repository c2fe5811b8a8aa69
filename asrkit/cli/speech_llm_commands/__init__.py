"""The sub-commands of `asrkit speech-llm`, one module each (``register(subparsers)``)."""
