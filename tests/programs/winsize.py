"""Prints its terminal size at start and on every SIGWINCH; exits on 'q'."""
import os
import signal
import termios
import tty


def report(*_):
    cols, rows = os.get_terminal_size(0)
    print(f"size {cols}x{rows}\r", flush=True)


signal.signal(signal.SIGWINCH, report)
saved = termios.tcgetattr(0)
tty.setcbreak(0)
try:
    report()
    while True:
        ch = os.read(0, 1)
        if ch in (b"q", b""):
            break
finally:
    termios.tcsetattr(0, termios.TCSADRAIN, saved)
