"""Puts its terminal in raw mode (as claude does) and prints the bytes of each key it gets;
'q' quits. Ctrl-C, Ctrl-Z and Ctrl-D arrive as bytes 03, 1a, 04. With argv[1] == "suspend",
Ctrl-Z suspends it the way Claude Code does: cooked mode back, SIGTSTP to itself."""
import os
import signal
import sys
import termios
import tty

saved = termios.tcgetattr(0)
suspend = sys.argv[1:] == ["suspend"]
tty.setraw(0)
try:
    os.write(1, b"raw ready\r\n")
    while True:
        data = os.read(0, 64)
        if not data or data == b"q":
            break
        if suspend and data == b"\x1a":
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
            os.kill(os.getpid(), signal.SIGTSTP)
            tty.setraw(0)
            os.write(1, b"resumed\r\n")
            continue
        os.write(1, ("keys: " + data.hex(" ") + "\r\n").encode())
finally:
    termios.tcsetattr(0, termios.TCSADRAIN, saved)
