"""Every ```python block in README.md and docs/*.md runs, on its own, in a fresh interpreter."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fapilog._presets import PRESETS
from tests._doc_services import doc_service

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT_SECONDS = 60

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_NOT_RUN = re.compile(r"^\s*<!--\s*not-run:\s*(?P<reason>.+?)\s*-->\s*$")
_RUN_WITH = re.compile(r"^\s*<!--\s*run-with:\s*(?P<service>[\w-]+)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    index: int  # 1-based, among the file's python blocks
    line: int  # 1-based line of the opening fence
    code: str
    skip_reason: str | None
    service: str | None = None  # a local service it runs against (tests/_doc_services.py)

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.index}"


def python_blocks(path: Path, text: str | None = None) -> list[Block]:
    """The ```python blocks of ``path`` (or of ``text``), each with the not-run reason preceding it, if any."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, info, start = match.group("fence"), match.group("info").lower(), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if info not in ("python", "py", "python3"):
            continue
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        not_run = _NOT_RUN.match(previous)
        run_with = _RUN_WITH.match(previous)
        blocks.append(
            Block(
                path=path,
                index=len(blocks) + 1,
                line=start + 1,
                code="\n".join(body) + "\n",
                skip_reason=not_run.group("reason") if not_run else None,
                service=run_with.group("service") if run_with else None,
            )
        )
    return blocks


def clean_env() -> dict[str, str]:
    """The test process's environment without any FAPILOG_* or OTEL_* variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}


def run_python(code: str, cwd: Path, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script in a fresh interpreter, in ``cwd``, with a clean environment."""
    script = cwd / "snippet.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


ALL_BLOCKS = [block for path in DOC_FILES for block in python_blocks(path)]


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.id for b in ALL_BLOCKS])
def test_doc_block_runs(block: Block, tmp_path: Path) -> None:
    """A python example of the docs runs to completion: exit code 0 and no traceback."""
    if block.skip_reason is not None:
        pytest.skip(f"not-run: {block.skip_reason}")
    where = f"{block.path.relative_to(ROOT)} line {block.line}"
    if block.service is None:
        result = run_python(block.code, tmp_path)
    else:  # run unchanged against a real local service, which must then hold what the example sent
        with doc_service(block.service) as (env, check):
            result = run_python(block.code, tmp_path, env={**clean_env(), **env})
            if result.returncode == 0:
                check()
    assert result.returncode == 0, f"{where} exited {result.returncode}:\n{result.stderr}"
    assert "Traceback" not in result.stderr, f"{where} printed a traceback:\n{result.stderr}"


def test_every_page_has_examples() -> None:
    """README.md and every user-guide page contain python examples, so the block collection is not empty."""
    pages = {b.path.name for b in ALL_BLOCKS}
    reports = {"benchmarks.md", "reliability.md"}  # figures from runs, not a user guide
    expected = {"README.md"} | {p.name for p in DOC_FILES if p.parent.name == "docs"} - reports
    assert expected <= pages, f"pages without python examples: {sorted(expected - pages)}"


def test_block_parser_honours_not_run_comments() -> None:
    """Only python blocks are collected, and a not-run comment right before one marks it skipped."""
    text = "\n".join(
        [
            "```bash",
            "pip install fapilog",
            "```",
            "<!-- not-run: needs a network -->",
            "",
            "```python",
            "print(1)",
            "```",
            "````python",
            "print('```')",
            "````",
        ]
    )
    first, second = python_blocks(Path("page.md"), text)
    assert (first.id, first.line, first.code, first.skip_reason) == ("page.md:1", 6, "print(1)\n", "needs a network")
    assert (second.id, second.code, second.skip_reason) == ("page.md:2", "print('```')\n", None)


def test_presets_page_shows_every_preset_setting() -> None:
    """docs/presets.md has a section per preset listing exactly the settings that preset sets, with their values."""
    text = (ROOT / "docs" / "presets.md").read_text(encoding="utf-8")
    for preset in PRESETS.values():
        section = _section(text, f"### `{preset.name}`")
        rows = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| `")}
        expected = _flatten(preset.values)
        assert rows == {f"`{key}`" for key, _value in expected}, preset.name
        for key, value in expected:
            assert f"| `{key}` | `{json.dumps(value)}`" in section, f"{preset.name}: {key} = {value!r}"


def _section(text: str, heading: str) -> str:
    """The part of ``text`` from ``heading`` to the next heading of the same or a higher level."""
    assert heading in text, f"missing section {heading}"
    rest = text.split(heading, 1)[1]
    return re.split(r"^#{1,3} ", rest, maxsplit=1, flags=re.MULTILINE)[0]


def _flatten(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out


_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation removed, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("path", DOC_FILES, ids=[p.name for p in DOC_FILES])
def test_relative_links_resolve(path: Path) -> None:
    """Every relative link in the docs points at an existing file and, with a #fragment, an existing heading."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    for match in _LINK.finditer(text):
        target = match.group("target")
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.name}: broken link {target}"
        if fragment and linked.suffix == ".md":
            assert fragment in _anchors(linked), f"{path.name}: no heading for {target}"
