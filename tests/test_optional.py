"""Optional dependencies: never imported by `import fapilog`, and a missing one says what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fapilog._optional import MissingDependencyError, require

OPTIONAL = ["fastapi", "uvicorn", "boto3", "botocore", "httpx", "cramjam", "asyncpg", "grpc"]


def test_import_fapilog_imports_no_optional_dependency() -> None:
    """Importing fapilog and its exporters with every optional dependency blocked still works."""
    code = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {OPTIONAL!r}:
                    raise ImportError("blocked: " + name)
                return None
        sys.meta_path.insert(0, Block())
        import fapilog, fapilog.exporters, fapilog.instrumentation, fapilog.testing, fapilog.core.settings
        log = fapilog.get_logger("x", format="json")
        log.info("works")
        log.drain()
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert '"message":"works"' in result.stdout


def test_missing_dependency_names_the_pip_install() -> None:
    """require() of a missing module raises an ImportError carrying the exact pip command."""
    with pytest.raises(MissingDependencyError, match=r'pip install "fapilog\[loki\]"'):
        require("fapilog_no_such_module", extra="loki")
    assert isinstance(MissingDependencyError("x"), ImportError)
    assert require("json", extra="x").__name__ == "json"
