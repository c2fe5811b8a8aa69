"""Data: decode inputs (files, folders, wav.scp, JSONL manifests) and training datasets."""
