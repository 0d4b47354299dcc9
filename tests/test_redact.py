"""The redactor as a library: every kind of planted secret found and replaced, ordinary code left alone."""
from __future__ import annotations

import re

import pytest

from claude_rec.parser.config import Pattern, PrivacySettings
from claude_rec.parser.redact import Identity, Redactor, redact_identity
from privacy_corpus import CONTEXT_SECRETS, NEEDLES, PRIVATE_KEY, SECRETS, leaks, text_with_everything

R = Redactor()

EXPECTED_KIND = {
    "anthropic-api": "anthropic-key", "anthropic-admin": "anthropic-key", "anthropic-oat": "anthropic-key",
    "anthropic-ort": "anthropic-key", "openai": "openai-key", "openai-proj": "openai-key",
    "github-ghp": "github-token", "github-gho": "github-token", "github-ghs": "github-token",
    "github-ghu": "github-token", "github-pat": "github-token", "gitlab": "gitlab-token", "slack": "slack-token",
    "aws-id": "aws-access-key-id", "google": "google-api-key", "stripe-sk": "stripe-key", "stripe-rk": "stripe-key",
    "jwt": "jwt",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_token_kind_is_typed(name: str) -> None:
    text = f"the value is {SECRETS[name]} ok"
    assert R.redact(text) == f"the value is [REDACTED:{EXPECTED_KIND[name]}] ok"
    [finding] = R.find(text)
    assert finding.kind == EXPECTED_KIND[name] and SECRETS[name] not in repr(finding)


def test_context_secrets_keep_names_and_hosts() -> None:
    out = R.redact("\n".join(CONTEXT_SECRETS.values()))
    assert "aws_secret_access_key = [REDACTED:aws-secret-key]" in out
    assert "DB_PASSWORD=[REDACTED:password]" in out
    assert "export API_TOKEN='[REDACTED:token]'" in out
    assert '"password": "[REDACTED:password]"' in out
    assert "postgres://[REDACTED:url-credentials]@db.example.com:5432/app" in out
    assert out.endswith("[REDACTED:private-key]")
    assert leaks(out) == []


def test_everything_at_once_and_idempotent() -> None:
    once = R.redact(text_with_everything())
    assert leaks(once) == [] and R.redact(once) == once and R.find(once) == []


@pytest.mark.parametrize("text, expected", [
    ("API_TOKEN=abc123def", "API_TOKEN=[REDACTED:token]"),
    ("GITHUB_TOKEN: hunter22", "GITHUB_TOKEN: [REDACTED:token]"),
    ("db:\n  password: s3cr3t-pw\n", "db:\n  password: [REDACTED:password]\n"),
    ('api_key = "zzz111yyy"', 'api_key = "[REDACTED:api-key]"'),
    ("mysqldump --password=Tr0ub4dor db", "mysqldump --password=[REDACTED:password] db"),
    ("curl -H 'Authorization: Bearer abcdefghij1234567890XYZ'", "curl -H 'Authorization: Bearer [REDACTED:bearer-token]'"),
    ("git clone https://bob:tok3n@gitlab.com/x.git", "git clone https://[REDACTED:url-credentials]@gitlab.com/x.git"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n", "[REDACTED:private-key]\n"),
])
def test_assignments_and_forms(text: str, expected: str) -> None:
    assert R.redact(text) == expected


def test_private_key_inside_json_escaped_text() -> None:
    text = '{"content": "' + PRIVATE_KEY.replace("\n", "\\n") + '"}'
    assert R.redact(text) == '{"content": "[REDACTED:private-key]"}'


ORDINARY = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main)",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "uuid = 123e4567-e89b-12d3-a456-426614174000",
    "+    blob = 'aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQgdGVzdCBkYXRhIGZvciBhIGRpZmY='",
    "this_is_a_really_long_variable_name_with_numbers_12345678901234567890 = compute_value_for_it(3)",
    "password = get_password()", "token: str", "max_tokens=4096", "input_tokens: 1200",
    "def rotate_secret_key(self, new_key): return new_key", "for key, value in items:", "primary_key=True",
    "token = tokenizer.next_token()", "if password == expected: pass", "PWD=/home/alice/src",
    "password: ${DB_PASSWORD}", "API_KEY=$(cat ~/.key)", 'headers = {"Authorization": f"Bearer {token}"}',
    "ssh git@github.com:org/repo.git", "https://example.com/a:b@c", "task-1234567890abcdefghijklmn",
    "SECRET_KEY = os.environ['SECRET_KEY']", "session.token_type: bearer", "Password: ********",
    "10.0.0.1 8.8.8.8 192.168.1.1", "integrity sha512-Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4==",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_code_is_left_alone(text: str) -> None:
    assert R.find(text) == [], text


def test_token_wrapped_onto_the_next_line() -> None:
    key = SECRETS["anthropic-api"]
    text = f"  some output that fills a line to the edge: {key[:50]}\n  {key[50:]}\nnext line"
    assert R.redact(text) == "  some output that fills a line to the edge: [REDACTED:anthropic-key]\nnext line"
    short = "x: ghp_" + "a" * 36 + "\ndone"  # a short line: not a wrap
    assert R.redact(short).endswith("\ndone")


def test_user_patterns_and_allow_list() -> None:
    allowed = SECRETS["github-ghp"]
    settings = PrivacySettings(patterns=(Pattern("employee-id", re.compile(r"EMP-[0-9]{6}")),),
                               allow=(allowed, r"AKIA[0-9A-Z]{12}TEST"))
    r = Redactor(settings)
    assert r.redact("id EMP-123456 and " + allowed) == "id [REDACTED:employee-id] and " + allowed
    assert r.redact("AKIA1234567890ABTEST") == "AKIA1234567890ABTEST"
    assert r.redact(SECRETS["github-gho"]) == "[REDACTED:github-token]"


def test_without_detect_secrets_our_rules_still_apply() -> None:
    r = Redactor(PrivacySettings(detect_secrets=False))
    assert leaks(r.redact(text_with_everything())) == []


def test_identity() -> None:
    ident = Identity("/home/alice", "alice", "laptop")
    text = "cd /home/alice/src && ssh alice@laptop; alice's laptop.local build; root at /home/alicex"
    assert redact_identity(text, ident) == "cd ~/src && ssh [user]@[host]; [user]'s [host] build; root at /home/alicex"
    common = Identity("/root", "root", "vm")  # a user name that is a word: only where it is the user
    assert redact_identity("/root/x root@vm the root dir", common) == "~/x [user]@[host] the root dir"


def test_needles_are_all_distinct_and_long() -> None:
    assert len(set(NEEDLES)) == len(NEEDLES) and min(map(len, NEEDLES)) >= 16
