"""Planted secrets for the privacy tests: one of every kind the redactor must catch.

The values are generated (seeded) so that no key-shaped literal sits in the source, and
each carries a random body that the tests look for, in whole and in pieces, afterwards.
"""
from __future__ import annotations

import random
import string

_rng = random.Random(20261126)
ALNUM = string.ascii_letters + string.digits


def _r(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _b64_lines(n: int) -> str:
    return "\n".join(_r(64, ALNUM + "+/") for _ in range(n))


# kind -> the secret as it would appear (the whole value that must disappear)
SECRETS: dict[str, str] = {
    "anthropic-api": "sk-" + "ant-api03-" + _r(93) + "AA",
    "anthropic-admin": "sk-" + "ant-admin01-" + _r(93) + "AA",
    "anthropic-oat": "sk-" + "ant-oat01-" + _r(93) + "AA",
    "anthropic-ort": "sk-" + "ant-ort01-" + _r(93) + "AA",
    "openai": "sk-" + _r(48),
    "openai-proj": "sk-" + "proj-" + _r(60) + "_" + _r(60),
    "github-ghp": "gh" + "p_" + _r(36),
    "github-gho": "gh" + "o_" + _r(36),
    "github-ghs": "gh" + "s_" + _r(36),
    "github-ghu": "gh" + "u_" + _r(36),
    "github-pat": "github" + "_pat_" + _r(22) + "_" + _r(59),
    "gitlab": "gl" + "pat-" + _r(20),
    "slack": "xo" + "xb-" + _r(12, string.digits) + "-" + _r(13, string.digits) + "-" + _r(24),
    "aws-id": "AK" + "IA" + _r(16, string.ascii_uppercase + string.digits),
    "google": "AI" + "za" + _r(35),
    "stripe-sk": "sk" + "_live_" + _r(24),
    "stripe-rk": "rk" + "_live_" + _r(24),
    "jwt": "ey" + "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "ey" + "J" + _r(40) + "." + _r(43, ALNUM + "-_"),
}
# Values that are only secret by their context (kept out of SECRETS' own lines)
AWS_SECRET = _r(40, ALNUM + "/+")
PASSWORD = "Pw" + _r(14) + "!9"
DB_PASSWORD = "db" + _r(18)
URL_PASSWORD = "up" + _r(16)
TOKEN_VALUE = "tv" + _r(30)
PRIVATE_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----\n" + "MIIEpAIBAAKCAQEA" + _r(48) + "\n" + _b64_lines(5) + \
    "\n-----END RSA PRIVATE KEY-----"
PRIVATE_KEY_BODY = PRIVATE_KEY.splitlines()[2]

CONTEXT_SECRETS = {
    "aws-secret": f"aws_secret_access_key = {AWS_SECRET}",
    "env-password": f"DB_PASSWORD={DB_PASSWORD}",
    "export-token": f"export API_TOKEN='{TOKEN_VALUE}'",
    "json-password": '{"user": "alice", "password": "' + PASSWORD + '"}',
    "url": f"postgres://alice:{URL_PASSWORD}@db.example.com:5432/app",
    "private-key": PRIVATE_KEY,
}
# What must not survive anywhere: every value above.
NEEDLES: list[str] = [*SECRETS.values(), AWS_SECRET, PASSWORD, DB_PASSWORD, URL_PASSWORD, TOKEN_VALUE,
                      PRIVATE_KEY_BODY]


def text_with_everything() -> str:
    lines = [f"{kind}: {value}" for kind, value in SECRETS.items()]
    lines += list(CONTEXT_SECRETS.values())
    return "\n".join(lines) + "\n"


def leaks(text: str, needles: list[str] | None = None, window: int = 12) -> list[str]:
    """The needles of which any `window`-char piece (past a common prefix) shows in `text`."""
    squeezed = "".join(text.split())
    found = []
    for needle in needles or NEEDLES:
        body = needle[8:] if len(needle) > 24 else needle
        pieces = [body[i:i + window] for i in range(0, max(len(body) - window, 0) + 1, 4)] or [body]
        if any(p in text or p in squeezed for p in pieces):
            found.append(needle[:12] + "...")
    return found
