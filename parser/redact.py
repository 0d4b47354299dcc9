"""Finding and redacting secrets in text.

    r = Redactor(privacy_settings(load_config(home)))   # or Redactor() for the defaults
    r.find(text)      # [Finding(kind, start, end, detector)], never the secret itself
    r.redact(text)    # the text with each secret replaced by "[REDACTED:<kind>]"
    redact_identity(text)   # /home/alice -> ~, the host name -> [host], the user name -> [user]

Detectors, in one pass over the text each:

- our own patterns (`RULES`): Anthropic, OpenAI, GitHub, GitLab, Slack, AWS, Google, Stripe
  keys and tokens, private key blocks (BEGIN ... END, multi-line), credentials in URLs, JWTs,
  bearer tokens, `NAME=value` / `"name": "value"` assignments whose name says secret
  (`*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, ...) and `--password X` style flags;
- detect-secrets' detectors (its plugin classes, used on the text directly, not its baseline
  machinery), except those that flag ordinary code: the entropy ones (git SHAs, hashes,
  base64 test data), public IPs, and the ones ours do better (private keys, JWTs). The slow
  keyword-bound ones only run on the lines that hold their keyword;
- the user's own patterns from `[privacy] patterns`.

A replacement keeps the text readable: an assignment keeps its name (`API_TOKEN=[REDACTED:token]`),
a URL keeps its scheme and host (`https://[REDACTED:url-credentials]@host/x`). A token that a
terminal or a renderer wrapped onto the next line is followed there. Entries of
`[privacy] allow` (a literal, or a regular expression matched against the whole secret) are
never redacted, nor is anything that already reads `[REDACTED:...]`.
"""
from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .config import PrivacySettings

PLACEHOLDER = "[REDACTED:{}]"
_ALREADY = "[REDACTED:"


@dataclass(frozen=True)
class Finding:
    """Where a secret is and what kind; never the secret's text."""

    kind: str
    start: int
    end: int
    detector: str
    where: str | None = None  # set by the scanners: "messages/12/text", "file.jsonl:3", ...

    def describe(self) -> str:
        place = f"{self.where}: " if self.where else ""
        return f"{place}{self.kind} (chars {self.start}-{self.end}, {self.detector})"


# --------------------------------------------------------------------- our rules

_L = r"(?<![A-Za-z0-9_\-])"  # a token starts at a word boundary (dash and underscore included)
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_UPPER_DIGIT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")


@dataclass(frozen=True)
class Rule:
    kind: str
    regex: re.Pattern[str]
    token: bool = True  # a single run of token characters: may be wrapped onto the next line
    priority: int = 2  # on overlapping findings, the higher names the kind
    check: Callable[[re.Match[str]], str | None] | None = None  # -> kind, or None to drop
    boundary: frozenset[str] = frozenset()  # characters that must not come just before the match (checked here: faster than a lookbehind)
    literals: tuple[str, ...] = ()  # one of them is inside every match: found with str.find (fast), the regex
    back: frozenset[str] = frozenset()  # is then tried from the start of the run of these characters before it


_NOT_SECRET_NAMES = {"PWD", "OLDPWD", "KEY", "TOKEN_TYPE", "TOKEN_COUNT", "TOKENIZER", "PASS", "AUTH",
                     "PASSWORD_POLICY", "KEY_ID", "KEYID", "KEY_NAME", "TOKEN_URL", "AUTH_URL", "AUTH_TYPE",
                     "SECRET_NAME", "TOKEN_ENDPOINT", "AUTH_METHOD", "PASSWORD_FILE", "TOKEN_FILE", "KEY_FILE",
                     "SECRET_FILE", "KEY_PATH", "PASSWORD_LENGTH", "TOKEN_LIMIT"}
_PLACEHOLDER_VALUES = {"none", "null", "nil", "true", "false", "undefined", "required", "optional", "string",
                       "str", "bool", "int", "number", "bytes", "secret", "password", "token", "redacted",
                       "hidden", "masked", "env", "os", "process", "yes", "no", "on", "off", "enabled",
                       "disabled"}
_NUMERIC = re.compile(r"[0-9][0-9.:]*")  # numbers, versions, OIDs, IPs, times
_CODE_REF = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_TEMPLATE = re.compile(r"^(?:\$\{?[A-Za-z_]|\$\(|%\(|\{\{|\{%|<[^>]*>$|\*+$|x+$|X+$|\.+$|#+$|-+$|_+$)")


def kind_of_name(name: str) -> str:
    upper = name.upper()
    if "PASS" in upper or upper.endswith(("PWD", "_PW")):
        return "password"
    if "TOKEN" in upper or "AUTH" in upper:
        return "token"
    if "SECRET" in upper:
        return "secret"
    if "CREDENTIAL" in upper:
        return "credentials"
    if "API" in upper:
        return "api-key"
    return "key"


_LAST_WORDS = {"PASSWORD", "PASSWD", "PASSPHRASE", "PASS", "PWD", "PW", "SECRET", "TOKEN", "APIKEY",
               "CREDENTIAL", "CREDENTIALS", "AUTH", "KEY", "PASSWORDS", "SECRETS"}
_ANYWHERE_WORDS = {"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "APIKEY"}
_KEY_QUALIFIERS = {"API", "SECRET", "ACCESS", "PRIVATE", "AUTH", "CLIENT", "MASTER", "SIGNING", "ENCRYPTION",
                   "LICENSE", "SERVICE", "ACCOUNT", "SESSION", "APP", "CONSUMER", "WEBHOOK", "DB", "DATABASE",
                   "ADMIN", "ANTHROPIC", "OPENAI", "STRIPE", "AWS", "GITHUB", "GOOGLE", "SLACK", "SSH", "GPG",
                   "HMAC", "JWT", "SIGNATURE", "CRYPT", "SHARED", "ROOT", "DEPLOY", "REST", "BOT"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _segments(name: str) -> list[str]:
    parts = re.split(r"[_.\-]+", _CAMEL.sub("_", name))
    return [p.upper() for p in parts if p and not p.isdigit()]


def secret_name(name: str) -> bool:
    """Whether a variable / key name says that its value is a secret (DB_PASSWORD, apiKey, ...)."""
    segs = _segments(name)
    if not segs:
        return False
    norm = "_".join(segs)
    if norm in _NOT_SECRET_NAMES:
        return False
    last = segs[-1]
    if last == "KEY":
        if len(segs) < 2:
            return False
        return name == name.upper() or segs[-2] in _KEY_QUALIFIERS
    if last in _LAST_WORDS:
        return len(segs) >= 2 or last not in ("PASS", "AUTH", "PW")
    return any(s in _ANYWHERE_WORDS for s in segs[:-1]) and last not in (
        "PATH", "FILE", "URL", "ID", "NAME", "TYPE", "LENGTH", "COUNT", "FIELD", "HEADER", "POLICY", "HASH",
        "PROMPT", "LABEL", "INPUT", "MANAGER", "STORE", "ENV", "VAR", "DIR", "REF", "ARN", "VERSION", "RESET",
        "CHANGE", "REQUIRED", "ENABLED", "MIN", "MAX", "REGEX", "PATTERN", "HINT", "ERROR", "MODE")


def _plausible_value(value: str, quoted: bool, env_style: bool) -> bool:
    if len(value) < 3 or _ALREADY in value:
        return False
    low = value.lower()
    if low in _PLACEHOLDER_VALUES or _NUMERIC.fullmatch(value) or _TEMPLATE.match(value):
        return False
    if "os.environ" in value or "process.env" in value or "getenv" in low:
        return False
    if not quoted:
        if any(c in value for c in "()[]{}<>") or (not env_style and "*" in value):
            return False
        if not env_style and _CODE_REF.fullmatch(value) and not any(c.isdigit() for c in value):
            return False  # `token = next_token`, `password: str`: code, not a secret
    return True


def _check_assignment(match: re.Match[str]) -> str | None:
    name = match.group("name")
    if not secret_name(name):
        return None
    quoted = match.group("vq") is not None
    # env files and shell: NAME=value, no spaces, no quotes around the name
    env_style = name == name.upper() and not match.group("nq") and match.group("op") == "="
    if not _plausible_value(match.group("s"), quoted, env_style=env_style):
        return None
    return kind_of_name(name)


def _check_flag(match: re.Match[str]) -> str | None:
    value = match.group("s")
    if value.startswith("-") or not _plausible_value(value, match.group("vq") is not None, env_style=False):
        return None
    return kind_of_name(match.group("name"))


def _check_has_digit(kind: str) -> Callable[[re.Match[str]], str | None]:
    def check(match: re.Match[str]) -> str | None:
        secret = match.group("s") if "s" in match.re.groupindex else match.group(0)
        return kind if any(c.isdigit() for c in secret) else None
    return check


# every case of the keywords of the assignment and flag rules, as they are found by str.find
_KEYWORD_LITERALS = ("pass", "Pass", "PASS", "pwd", "Pwd", "PWD", "pw", "PW", "secret", "Secret", "SECRET", "token",
                     "Token", "TOKEN", "key", "Key", "KEY", "credential", "Credential", "CREDENTIAL", "auth", "Auth",
                     "AUTH")
_VALUE = r"""(?P<vq>["'`])?(?P<s>(?(vq)[^"'`\r\n]{1,500}?|[^\s"'`,;]{1,500}))(?(vq)(?P=vq))"""

RULES: tuple[Rule, ...] = (
    Rule("private-key", re.compile(
        r"-----BEGIN[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,16000}?-----END[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----"
        r"|(?:(?:\s|\\n|[│⎿|>])*(?:[A-Za-z0-9+/=]{8,}|[A-Za-z][A-Za-z\-]+: [^\n\\]*))*)"), token=False, priority=3),
    Rule("anthropic-key", re.compile(r"sk-ant-[a-z]{2,8}\d{0,3}-[A-Za-z0-9_\-]{16,}"), boundary=_WORD),
    Rule("openai-key", re.compile(r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?(?=[A-Za-z_\-]*\d)[A-Za-z0-9_\-]{20,}"), boundary=_WORD),
    Rule("github-token", re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})"), boundary=_WORD),
    Rule("gitlab-token", re.compile(r"gl(?:pat|dt|ft|rt|cbt|ptt|oas|soat)-[A-Za-z0-9_\-]{20,}"), boundary=_WORD),
    Rule("slack-token", re.compile(r"xox[abprseo]-(?:[A-Za-z0-9]+-)*[A-Za-z0-9]{6,}"), boundary=_WORD),
    Rule("slack-webhook", re.compile(r"https://hooks\.slack\.com/services/(?P<s>T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+)")),
    Rule("aws-access-key-id", re.compile(r"A(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])"),
         boundary=_UPPER_DIGIT),
    Rule("aws-secret-key", re.compile(
        r"(?i:aws)[A-Za-z0-9_.\-]{0,30}(?i:secret|key)[A-Za-z0-9_.\-\"'\]]{0,30}\s*(?:=|:|=>)\s*[\"']?"
        r"(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"), token=False, priority=3, literals=("aws", "AWS", "Aws"),
        back=frozenset()),
    Rule("google-api-key", re.compile(r"AIza[0-9A-Za-z_\-]{35,}"), boundary=_WORD),
    Rule("stripe-key", re.compile(r"[sr]k_(?:live|test)_[0-9A-Za-z]{16,}"), boundary=_WORD,
         literals=("k_live_", "k_test_"), back=frozenset("sr")),
    Rule("stripe-key", re.compile(r"whsec_[A-Za-z0-9]{24,}"), boundary=_WORD),
    Rule("jwt", re.compile(r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"), boundary=_WORD),
    Rule("url-credentials", re.compile(
        r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://(?P<s>[^\s:/@\"'<>\[\]]{0,100}:[^\s@/\"'<>\[\]]{1,200})@(?=[A-Za-z0-9\[])"),
        token=False, literals=("://",), back=_SCHEME_CHARS),
    Rule("bearer-token", re.compile(r"(?i)\bbearer\s+(?P<s>[A-Za-z0-9._~+/\-]{20,}=*)"),
         check=_check_has_digit("bearer-token"), literals=("earer", "EARER"), back=frozenset("bB")),
    Rule("assignment", re.compile(
        r"(?<![\w\-.$])(?P<nq>[\"']?)(?P<name>[A-Za-z0-9_.\-]*(?i:pass|pwd|pw|secret|token|key|credential|auth)"
        r"[A-Za-z0-9_.\-]*)(?P=nq)(?P<op>[ \t]*(?:\])?[ \t]*(?::=|=>|=(?!=)|:(?![:=/]))[ \t]*)" + _VALUE),
        token=False, priority=1, check=_check_assignment, back=_NAME_CHARS, literals=_KEYWORD_LITERALS),
    Rule("flag", re.compile(
        r"(?i)--?(?P<name>[a-z0-9\-]*(?:password|passwd|token|secret|api-key|apikey))(?:=|[ \t]+)" + _VALUE),
        token=False, priority=1, check=_check_flag, boundary=_WORD, back=_NAME_CHARS, literals=_KEYWORD_LITERALS),
)


# ------------------------------------------------------------- detect-secrets

# detect-secrets plugin classes left out: they flag ordinary code, or ours do better.
# KeywordDetector: our assignment rule covers its cases, with fewer false positives, at 10x its speed.
DS_SKIPPED = {"HexHighEntropyString", "Base64HighEntropyString", "IPPublicDetector", "PrivateKeyDetector",
              "JwtTokenDetector", "KeywordDetector"}
# A cheap necessary condition for the slow keyword-bound detectors: they run only on lines holding it.
DS_HINTS = {
    "ArtifactoryDetector": r"AKC|AP[\dA-F]",
    "AWSKeyDetector": r"[Aa][Ww][Ss]",  # its AKIA... pattern is ours (aws-access-key-id)
    "CloudantDetector": r"(?i)cl(?:oudant|ou)?[-_]?(?:api)?(?:key|pw|pass|token)|cloudant\.com",
    "IbmCloudIamDetector": r"(?:[=:>]|  ) *[\"']?[a-zA-Z0-9_\-]{44}(?![a-zA-Z0-9_\-])",
    "IbmCosHmacDetector": r"[Ss][Ee][Cc][Rr][Ee][Tt]",
    "SoftlayerDetector": r"[Ss][Oo][Ff][Tt][Ll]|[Ss][Ll][-_]?(?:[Aa][Pp][Ii])?[-_]?[KkPpTt]",
    "MailchimpDetector": r"-us\d",
    "TelegramBotTokenDetector": r"\d:[0-9A-Za-z_-]{35}",
    "TwilioKeyDetector": r"[AS][CK][a-z0-9]{32}",
    "DiscordBotTokenDetector": r"\.[a-zA-Z\d_-]{6}\.",
    "KeywordDetector": r"(?i)api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|"
                       r"private_?key|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|"
                       r"contrase",
}


_DS_WINDOW = 300


@dataclass
class _DsDetector:
    name: str
    kind: str
    patterns: list[tuple[re.Pattern[str], bool]]  # (regex, report groups rather than the whole match)
    hint: re.Pattern[str] | None
    plugin: object | None = None  # KeywordDetector: not regex based, asked line by line


def _slug(secret_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-")


def _load_detect_secrets() -> list[_DsDetector]:
    try:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.plugins.base import RegexBasedDetector
    except ImportError:  # optional at run time: our own rules still apply
        return []
    detectors = []
    for secret_type, cls in sorted(get_mapping_from_secret_type_to_class().items(), key=lambda kv: kv[1].__name__):
        if cls.__name__ in DS_SKIPPED:
            continue
        plugin = cls()
        hint = DS_HINTS.get(cls.__name__)
        compiled_hint = re.compile(hint) if hint else None
        kind = _slug(secret_type)
        if isinstance(plugin, RegexBasedDetector):
            patterns = [(p, p.groups > 0) for p in plugin.denylist]
            detectors.append(_DsDetector(cls.__name__, kind, patterns, compiled_hint))
        elif cls.__name__ == "KeywordDetector":
            detectors.append(_DsDetector(cls.__name__, "secret", [], compiled_hint, plugin))
    return detectors


_DS_CACHE: list[_DsDetector] | None = None


def detect_secrets_detectors() -> list[_DsDetector]:
    global _DS_CACHE
    if _DS_CACHE is None:
        _DS_CACHE = _load_detect_secrets()
    return _DS_CACHE


# ------------------------------------------------------------------- Redactor

_PARTIALS = [re.compile(re.escape(prefix) + r"[A-Za-z0-9_\-.]*(?=\r?\n)")
             for prefix in ("sk-", "sk_", "rk_", "gh", "github_pat_", "gl", "xox", "AKIA", "ASIA", "AIza", "eyJ")]
_CONT = re.compile(r"[ \t]*(?:[│⎿|>][ \t]*)?([A-Za-z0-9_\-]{1,200})[ \t]*(?=\r?\n|$)")


class Redactor:
    """Finds and replaces secrets; built once (the regexes compile once), then used for any text."""

    def __init__(self, settings: PrivacySettings | None = None) -> None:
        self.settings = settings or PrivacySettings()
        self.rules = list(RULES)
        self.rules += [Rule(p.name, p.regex, token=False, priority=4) for p in self.settings.patterns]
        self.ds = detect_secrets_detectors() if self.settings.detect_secrets else []
        self._allow_literal = set(self.settings.allow)
        self._allow_regex = []
        for entry in self.settings.allow:
            try:
                self._allow_regex.append(re.compile(entry))
            except re.error:
                pass

    # ---- finding

    def find(self, text: str) -> list[Finding]:
        """Every secret in `text`, sorted, overlaps merged."""
        raw: list[tuple[int, int, str, str, int]] = []  # start, end, kind, detector, priority
        for rule in self.rules:
            for match in self._matches(rule, text):
                kind = rule.kind
                if rule.check is not None:
                    kind = rule.check(match)
                    if kind is None:
                        continue
                start, end = match.span("s") if "s" in rule.regex.groupindex else match.span()
                if start < 0 or start == end:
                    continue
                if rule.token:
                    end = self._continuation(text, start, end)
                raw.append((start, end, kind, f"builtin:{rule.kind}", rule.priority))
        raw.extend(self._wrapped_prefixes(text))
        for det in self.ds:
            raw.extend(self._run_ds(det, text))
        return self._merge(text, raw)

    def _wrapped_prefixes(self, text: str) -> Iterable[tuple[int, int, str, str, int]]:
        """A token cut by a line break before it is long enough to be recognised: joined, then matched."""
        token_rules = [rule for rule in self.rules if rule.token]
        if "\n" not in text:
            return
        partials = sorted((m for regex in _PARTIALS for m in regex.finditer(text)
                           if m.start() == 0 or text[m.start() - 1] not in _WORD), key=lambda m: m.start())
        for m in partials:
            if any(rule.regex.match(m.group()) for rule in token_rules):
                continue  # already whole: `_continuation` follows a wrap of it
            joined, pieces, end = m.group(), [(0, m.start())], m.end()
            for _ in range(4):
                nl = end + 2 if text.startswith("\r\n", end) else end + 1
                c = _CONT.match(text, nl)
                if not c:
                    break
                pieces.append((len(joined), c.start(1)))
                joined += c.group(1)
                end = c.end(1)
                if end >= len(text) or text[end] not in "\r\n":
                    break
            if len(pieces) == 1:
                continue
            for rule in token_rules:
                mm = rule.regex.match(joined)
                if mm is None or mm.end() <= len(m.group()) or (rule.check and rule.check(mm) is None):
                    continue
                j_end = mm.end()
                base_j, base_t = max(p for p in pieces if p[0] < j_end)
                yield (m.start(), base_t + (j_end - base_j), rule.kind, f"builtin:{rule.kind}", rule.priority)
                break

    @staticmethod
    def _matches(rule: Rule, text: str) -> Iterable[re.Match[str]]:
        if not rule.literals:
            for match in rule.regex.finditer(text):
                if rule.boundary and match.start() > 0 and text[match.start() - 1] in rule.boundary:
                    continue
                yield match
            return
        hits = []
        for literal in rule.literals:
            i = text.find(literal)
            while i >= 0:
                hits.append(i)
                i = text.find(literal, i + 1)
        if not hits:
            return
        hits.sort()
        done = -1
        for i in hits:
            if i < done:
                continue
            while i > 0 and text[i - 1] in rule.back:
                i -= 1
            if i > 0 and text[i - 1] in "\"'":
                i -= 1
            if i < done:
                continue
            match = rule.regex.match(text, i)
            if match is None:
                continue
            if rule.boundary and i > 0 and text[i - 1] in rule.boundary:
                continue
            done = match.end()
            yield match

    def _continuation(self, text: str, start: int, end: int) -> int:
        """A token that runs to the end of a long line and goes on alone on the next one (a wrap)."""
        for _ in range(4):
            if end >= len(text) or text[end] not in "\r\n":
                return end
            line_start = text.rfind("\n", 0, start) + 1
            if end - line_start < 40:
                return end
            nl = end + 2 if text.startswith("\r\n", end) else end + 1
            match = _CONT.match(text, nl)
            if not match:
                return end
            piece = match.group(1)
            if len(piece) < 8 and not any(c.isdigit() for c in piece):
                return end
            start, end = match.start(1), match.end(1)
        return end

    def _run_ds(self, det: _DsDetector, text: str) -> Iterable[tuple[int, int, str, str, int]]:
        if det.hint is None:
            spans = [(0, len(text))]
        else:
            spans = []
            last_end = -1
            for hit in det.hint.finditer(text):  # a window around the hit, within its line
                if hit.start() < last_end:
                    continue
                a = max(text.rfind("\n", 0, hit.start()) + 1, hit.start() - _DS_WINDOW)
                b = text.find("\n", hit.end(), hit.end() + _DS_WINDOW)
                b = min(len(text), hit.end() + _DS_WINDOW) if b < 0 else b
                spans.append((a, b))
                last_end = b
            if not spans:
                return
        label = f"detect-secrets:{det.name}"
        for a, b in spans:
            chunk = text[a:b] if (a, b) != (0, len(text)) else text
            if det.plugin is not None:
                for line_offset, line in _lines(chunk):
                    for value in det.plugin.analyze_string(line):
                        if not value or not _plausible_value(value, quoted=True, env_style=False):
                            continue
                        i = line.find(value)
                        if i >= 0:
                            yield (a + line_offset + i, a + line_offset + i + len(value), det.kind, label, 1)
                continue
            for regex, groups in det.patterns:
                for match in regex.finditer(chunk):
                    spans = [match.span(g) for g in range(1, regex.groups + 1)] if groups else []
                    # a short group at the start ("ghp" of a GitHub token) names the kind, not the secret
                    spans = [(s, e) for s, e in spans if s >= 0 and e > s and not (s == match.start() and e - s < 8)]
                    if spans:
                        for s, e in spans:
                            yield (a + s, a + e, det.kind, label, 1)
                    else:
                        yield (a + match.start(), a + match.end(), det.kind, label, 1)

    def _allowed(self, secret: str) -> bool:
        if _ALREADY in secret or secret in self._allow_literal:
            return True
        return any(r.fullmatch(secret) for r in self._allow_regex)

    def _merge(self, text: str, raw: list[tuple[int, int, str, str, int]]) -> list[Finding]:
        raw = [r for r in raw if not self._allowed(text[r[0]:r[1]])]
        if raw and self._allow_literal:
            spans = [(m, m + len(lit)) for lit in self._allow_literal for m in _occurrences(text, lit)]
            raw = [r for r in raw if not any(s <= r[0] and r[1] <= e for s, e in spans)]
        raw.sort(key=lambda r: (r[0], -r[1]))
        merged: list[list] = []
        for start, end, kind, det, prio in raw:
            if merged and start < merged[-1][1]:
                last = merged[-1]
                if prio > last[4] or (prio == last[4] and end - start > last[1] - last[0]):
                    last[2], last[3], last[4] = kind, det, prio
                last[1] = max(last[1], end)
            else:
                merged.append([start, end, kind, det, prio])
        return [Finding(kind, start, end, det) for start, end, kind, det, _ in merged]

    # ---- redacting

    def redact(self, text: str) -> str:
        findings = self.find(text)
        return apply(text, findings) if findings else text


def apply(text: str, findings: list[Finding]) -> str:
    """`text` with each finding replaced by its placeholder (the findings sorted, not overlapping)."""
    out, pos = [], 0
    for f in findings:
        out.append(text[pos:f.start])
        out.append(PLACEHOLDER.format(f.kind))
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def _occurrences(text: str, literal: str) -> Iterable[int]:
    i = text.find(literal)
    while i >= 0:
        yield i
        i = text.find(literal, i + 1)


def _lines(chunk: str) -> Iterable[tuple[int, str]]:
    offset = 0
    for line in chunk.split("\n"):
        yield offset, line
        offset += len(line) + 1


# ------------------------------------------------------------------- identity

@dataclass(frozen=True)
class Identity:
    home: str
    user: str
    host: str


# User names that are ordinary words: replaced only where they are clearly the user (paths, user@host).
_COMMON_USERS = {"root", "user", "admin", "ubuntu", "debian", "runner", "node", "app", "dev", "test", "build"}


def current_identity() -> Identity:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        user = ""
    host = socket.gethostname() or ""
    return Identity(os.path.expanduser("~").rstrip("/"), user, host.split(".")[0] if host else "")


def identity_spans(text: str, identity: Identity | None = None) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for the home path, the user name and the host name in `text`."""
    ident = identity or current_identity()
    alternatives: list[tuple[str, str]] = []  # (regex, replacement), the first that matches wins
    if ident.home and ident.home != "/":
        alternatives.append((re.escape(ident.home) + r"(?![A-Za-z0-9_.\-])", "~"))
    user, host = ident.user, ident.host
    if user and len(user) >= 2:
        u = re.escape(user)
        alternatives.append((rf"(?<=/home/){u}(?![A-Za-z0-9_.\-])|(?<=/Users/){u}(?![A-Za-z0-9_.\-])", "[user]"))
        alternatives.append((rf"(?<![A-Za-z0-9_.\-]){u}(?=@)", "[user]"))
    if host and host.lower() != "localhost":
        h = re.escape(host)
        alternatives.append((rf"(?<=@){h}(?![A-Za-z0-9_\-])", "[host]"))
        if len(host) >= 3:
            alternatives.append((rf"(?<![A-Za-z0-9_\-]){h}(?:\.[A-Za-z0-9\-]+)*(?![A-Za-z0-9_\-])", "[host]"))
    if user and len(user) >= 3 and user.lower() not in _COMMON_USERS:
        alternatives.append((rf"(?<![A-Za-z0-9_\-]){re.escape(user)}(?![A-Za-z0-9_\-])", "[user]"))
    if not alternatives:
        return []
    regex = re.compile("|".join(f"({a})" for a, _ in alternatives))
    spans = []
    for match in regex.finditer(text):
        spans.append((match.start(), match.end(), alternatives[match.lastindex - 1][1]))
    return spans


def redact_identity(text: str, identity: Identity | None = None) -> str:
    """The user's home path -> `~`, host name -> `[host]`, user name -> `[user]`."""
    out, pos = [], 0
    for start, end, replacement in identity_spans(text, identity):
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    out.append(text[pos:])
    return "".join(out)
