"""Dataset building and fine-tuning (not built yet)."""
