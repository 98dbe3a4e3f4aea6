"""The README tells the truth about coverage and commands."""

from __future__ import annotations

import re
from pathlib import Path

from openprofiles.cli import coverage_markdown, main

README = Path(__file__).resolve().parent.parent / "README.md"


def test_coverage_table_is_current():
    text = README.read_text()
    found = re.search(r"<!-- coverage:start -->\n(.*)\n<!-- coverage:end -->", text, re.S)
    assert found, "README has no coverage section"
    assert found.group(1) == coverage_markdown(), (
        "README coverage is stale: replace the section with `openprofiles coverage --markdown`"
    )


def test_readme_commands():
    text = README.read_text()
    assert "pip install . && openprofiles serve" in text
    assert 'pip install -c constraints.txt ".[test]" && python -m pytest' in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install --quiet -c constraints.txt ".[test]" && python -m pytest' in ci


def test_coverage_command_prints_every_operation(capsys):
    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    assert "CreateDomain" in out and "implemented" in out
    assert re.search(r"\d+ of \d+ operations implemented", out)
