"""Writes the strings of the JSON list in argv[1] to stdout one by one, flushing and pausing
between them, so that each reaches the recorder as its own read (its own output event)."""
import json
import sys
import time

with open(sys.argv[1], encoding="utf-8") as handle:
    chunks = json.load(handle)
for chunk in chunks:
    sys.stdout.write(chunk)
    sys.stdout.flush()
    time.sleep(0.06)
