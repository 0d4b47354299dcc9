"""Prints numbered lines for argv[1] seconds (an endless burst), flushing each."""
import sys
import time

end = time.monotonic() + float(sys.argv[1])
i = 0
while time.monotonic() < end:
    print(f"line {i:08d} " + "x" * 60, flush=True)
    i += 1
    time.sleep(0.0005)
print("burst over", flush=True)
