"""Write docs/changelog.md from the git history: ``python docs/changelog.py``.

One section per day, newest first, one line per commit (merges left out), the
subject's first clause.  Run it before a release; the page is committed, so the
documentation builds from an archive without git too.
"""

from __future__ import annotations

import subprocess
from itertools import groupby
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    log = subprocess.run(
        ["git", "log", "--no-merges", "--date=short", "--format=%ad%x09%h%x09%s"],
        capture_output=True, text=True, check=True, cwd=HERE,
    ).stdout.splitlines()
    lines = [
        "# Changelog",
        "",
        "What changed, day by day, from the git history (`python docs/changelog.py`",
        "writes this page; the commit messages say why).",
        "",
    ]
    rows = [line.split("\t", 2) for line in log]
    for day, commits in groupby(rows, key=lambda row: row[0]):
        lines += [f"## {day}", ""]
        for _, sha, subject in commits:
            subject = subject.replace("`", "'").replace("*", "\\*").replace("<", "&lt;")
            lines.append(f"- `{sha}` {subject}")
        lines.append("")
    (HERE / "changelog.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
