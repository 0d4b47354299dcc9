"""Regenerate the demo recordings in data/samples/ from the end-to-end scenarios.

    .venv/bin/python tests/harness/record_samples.py [--version 2.1.197] [--out data/samples] [SCENARIO...]

For each scenario it runs the real CLI through `claude-rec run` (see driver.py) and keeps
`<name>.cast`, `<name>.meta.json` (its "cast" field renamed to match) and the CLI's own
session log as `<name>.session.jsonl`. The CLI version must be installed by
.ci/install-claude-cli. 2.1.197 is the default: its session logs are ten times smaller
than 2.1.332's.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `harness`

from harness.cli_install import find_claude  # noqa: E402
from harness.driver import Driver, load_scenario  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIOS = ("bash_read_answer", "permission_prompts", "edit_write_bash")


def record(name: str, claude: Path, out: Path) -> list[Path]:
    workdir = Path(tempfile.mkdtemp(prefix=f"claude-rec-sample-{name}-"))
    try:
        result = Driver(load_scenario(name), claude, workdir).run()
        meta = json.loads(result.meta.read_text())
        if result.exit_status != 0 or not meta.get("complete") or result.api_errors:
            raise SystemExit(f"{name}: the run failed (exit {result.exit_status}, meta {meta}, "
                             f"API errors {result.api_errors}); files kept in {workdir}")
        logs = result.session_logs()
        if len(logs) != 1:
            raise SystemExit(f"{name}: expected one session log, found {logs}")
        out.mkdir(parents=True, exist_ok=True)
        written = [out / f"{name}.cast", out / f"{name}.meta.json", out / f"{name}.session.jsonl"]
        shutil.copyfile(result.cast, written[0])
        meta["cast"] = written[0].name
        written[1].write_text(json.dumps(meta, indent=2) + "\n")
        shutil.copyfile(logs[0], written[2])
        for path in written:
            path.chmod(0o644)
    except BaseException:
        print(f"{name}: files kept in {workdir}", file=sys.stderr)
        raise
    shutil.rmtree(workdir)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(DEFAULT_SCENARIOS))
    parser.add_argument("--version", default="2.1.197", help="CLI version (default %(default)s)")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "samples")
    args = parser.parse_args(argv)
    claude = find_claude(args.version)
    if claude is None:
        parser.error(f"claude {args.version} is not installed: run .ci/install-claude-cli {args.version}")
    for name in args.scenarios:
        for path in record(name, claude, args.out):
            print(f"{path}  {path.stat().st_size:>8} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
