"""Screen reconstruction and parsing of recordings (not built yet)."""
