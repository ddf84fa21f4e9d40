"""Packaging: the built wheel maps exporters/ and instrumentation/ into fapilog.* and declares entry points."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("fapilog-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_contains_the_mapped_packages(wheel: zipfile.ZipFile) -> None:
    """exporters/ and instrumentation/ are inside the wheel as fapilog.exporters and fapilog.instrumentation."""
    names = set(wheel.namelist())
    for module in Path(ROOT, "exporters").glob("*.py"):
        assert f"fapilog/exporters/{module.name}" in names
    for module in Path(ROOT, "instrumentation").glob("*.py"):
        assert f"fapilog/instrumentation/{module.name}" in names
    assert "fapilog/py.typed" in names
    assert "fapilog/core/settings.py" in names


def test_wheel_declares_entry_points(wheel: zipfile.ZipFile) -> None:
    """The console script, fapilog's sink group and OpenTelemetry's logs-exporter group are declared."""
    (meta,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(meta).decode()
    assert "fapilog = fapilog._cli:main" in text
    assert "[opentelemetry_logs_exporter]" in text
    assert "fapilog_stdout = fapilog.exporters.stdout:StdoutJsonExporter" in text
    assert "[fapilog.sinks]" in text


def test_editable_install_resolves_the_mapped_packages() -> None:
    """In this (editable) install, fapilog.exporters comes from the top-level exporters/ folder."""
    import fapilog.exporters.stdout
    import fapilog.instrumentation

    assert Path(fapilog.exporters.stdout.__file__).resolve() == ROOT / "exporters" / "stdout.py"
    assert Path(fapilog.instrumentation.__file__).resolve() == ROOT / "instrumentation" / "__init__.py"
