"""The PTY recorder: runs a program in a pseudo-terminal and writes an asciicast v2 file."""
