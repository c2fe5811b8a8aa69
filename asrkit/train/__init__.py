"""Training: feature caching, batching and the CTC training loop (single process or torchrun DDP)."""
