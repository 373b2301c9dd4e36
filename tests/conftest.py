"""Shared test setup: every test gets its own data dir; the model cache is the real one (filled by setup).

The services some tests need are started here, once per session, when the environment does not name
them: a throwaway PostgreSQL cluster (FTLAB_TEST_POSTGRES_URL) and a two-node loopback Ray cluster with
token auth (FTLAB_TEST_RAY_ADDRESS). Each is exported for the test servers the session spawns and
stopped at the end. A machine set up by ``scripts/setup.sh --test`` has what they need."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.services import TempPostgres, TempRayCluster, ray_client_of

# Nothing in the tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Under pytest-xdist (``make test`` runs two workers) each worker and everything it spawns (test servers,
# worker processes) keeps to one compute thread: two workers each running torch on every core would
# oversubscribe the machine, and OpenMP threads spinning against each other cost more than they save.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_threads, "1")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests on the session's Ray cluster ``ray_cluster`` (``make test`` runs them after the rest,
    alone: actors import torch and train on one CPU each, and beside a second busy worker an actor took
    minutes to start). Files that load a real model go first: under ``--dist loadfile`` they are the
    longest, and last they would leave a worker idle."""
    slow_files: set[Path] = set()
    for item in items:
        if "test_ray_address" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ray_cluster)
        if item.get_closest_marker("slow"):
            slow_files.add(item.path)
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("FTLAB_DATA_DIR", str(path))
    return path


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} could not be started: {error}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def test_postgres_url() -> Iterator[str]:
    """A PostgreSQL server URL: FTLAB_TEST_POSTGRES_URL, else a throwaway cluster for this session."""
    if os.environ.get("FTLAB_TEST_POSTGRES_URL"):
        yield os.environ["FTLAB_TEST_POSTGRES_URL"]
        return
    cluster = TempPostgres()
    try:
        url = cluster.start()
    except (RuntimeError, OSError, KeyError) as error:
        cluster.stop()
        _unavailable("a throwaway PostgreSQL cluster", error)
    os.environ["FTLAB_TEST_POSTGRES_URL"] = url
    try:
        yield url
    finally:
        del os.environ["FTLAB_TEST_POSTGRES_URL"]
        cluster.stop()


@pytest.fixture(scope="session")
def test_ray_address() -> Iterator[str]:
    """A Ray cluster address: FTLAB_TEST_RAY_ADDRESS, else a two-node loopback cluster for this session."""
    if os.environ.get("FTLAB_TEST_RAY_ADDRESS"):
        yield os.environ["FTLAB_TEST_RAY_ADDRESS"]
        return
    cluster = TempRayCluster()
    try:
        address = cluster.start()
    except (RuntimeError, OSError) as error:
        _unavailable("a two-node Ray cluster", error)
    try:
        with ray_client_of(cluster, address):
            yield address
    finally:
        cluster.stop()
