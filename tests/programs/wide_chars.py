"""Prints wide characters and emoji one byte per write (so characters split across reads),
then an invalid UTF-8 sequence."""
import os
import time

text = "wide: 日本語テキスト 👨‍👩‍👧 ⚠️ café\n".encode()
for i in range(len(text)):
    os.write(1, text[i:i + 1])
    if i % 3 == 0:
        time.sleep(0.002)
os.write(1, b"bad: \xff\xfe\xc3 end\n")
