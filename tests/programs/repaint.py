"""Repaints lines in place with cursor moves and erases, like a progress display."""
import sys
import time

out = sys.stdout
out.write("header line\n")
for i in range(0, 101, 10):
    out.write(f"\r\x1b[2Kprogress {i:3d}%\n\x1b[2Kstep {i // 10}/10\x1b[1A")
    out.flush()
    time.sleep(0.01)
out.write("\n\n\x1b[1;32mdone\x1b[0m\n")
out.flush()
