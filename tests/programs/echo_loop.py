"""Reads lines and answers each; reports SIGINT instead of dying; 'exit N' exits with N."""
import signal
import sys

signal.signal(signal.SIGINT, lambda *_: print("\n[child got SIGINT]", flush=True))
print("ready>", flush=True)
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("exit "):
        sys.exit(int(line.split()[1]))
    print(f"echo: {line}", flush=True)
print("[child got EOF]", flush=True)
