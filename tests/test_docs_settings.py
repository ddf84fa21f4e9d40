"""docs/settings.md is exactly what docs/_gen_settings.py generates from the Settings model (the drift check)."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from fapilog import Settings
from tests.test_docs import clean_env

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "docs" / "_gen_settings.py"
PAGE = ROOT / "docs" / "settings.md"


def _generate() -> str:
    result = subprocess.run(
        [sys.executable, str(GENERATOR)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_settings_page_matches_generator() -> None:
    """docs/settings.md has not drifted from the Settings model: regenerate it when a setting changes."""
    expected = _generate()
    actual = PAGE.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            actual.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            "docs/settings.md",
            "python docs/_gen_settings.py",
        )
    )
    assert not diff, f"docs/settings.md is stale; run `python docs/_gen_settings.py > docs/settings.md`:\n{diff}"


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(_fields(annotation, f"{prefix}{name}."))
        else:
            out.append((f"{prefix}{name}", field.description))
    return out


def test_every_setting_is_described() -> None:
    """Each setting has a Field(description=...), so the generated reference never has an empty row."""
    missing = [path for path, description in _fields(Settings) if not description]
    assert not missing, f"settings without a description: {missing}"


def test_every_setting_is_on_the_page() -> None:
    """Each setting's environment variable appears in docs/settings.md."""
    page = PAGE.read_text(encoding="utf-8")
    for path, _description in _fields(Settings):
        env = "FAPILOG_" + "__".join(part.upper() for part in path.split("."))
        assert f"`{env}`" in page, env
