"""Prints a line, then kills itself with the signal named in argv[1]."""
import os
import signal
import sys

print("about to die", flush=True)
os.kill(os.getpid(), getattr(signal, sys.argv[1]))
