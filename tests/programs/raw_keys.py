"""Puts its terminal in raw mode (as claude does) and prints the bytes of each key it gets;
'q' quits. Ctrl-C, Ctrl-Z and Ctrl-D arrive as bytes 03, 1a, 04."""
import os
import sys
import termios
import tty

saved = termios.tcgetattr(0)
tty.setraw(0)
try:
    os.write(1, b"raw ready\r\n")
    while True:
        data = os.read(0, 64)
        if not data or data == b"q":
            break
        os.write(1, ("keys: " + data.hex(" ") + "\r\n").encode())
finally:
    termios.tcsetattr(0, termios.TCSADRAIN, saved)
