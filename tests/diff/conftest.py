"""Shared fixtures of the differential tests: one chDB session per pytest process (chDB allows a
single data path per process), closed and shut down at the end."""
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import chdb  # noqa: E402
import diffcore  # noqa: E402


@pytest.fixture(scope="session")
def ch():
    d = tempfile.mkdtemp(prefix="sluice-diff-ch-")
    s = chdb.Session(os.path.join(d, "clickhouse"))
    yield s
    s.close()
    chdb.shutdown()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def sluice_bin():
    b = diffcore.sluice_bin()
    if not os.access(b, os.X_OK):
        pytest.fail("sluice binary not found at %s (build it with `make`, or set SLUICE_BIN)" % b)
    return b


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)
