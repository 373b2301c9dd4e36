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
# worker processes, Ray nodes) keeps to one compute thread: two workers each running torch on every core
# would oversubscribe the machine, and OpenMP threads spinning against each other cost more than they save.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_threads, "1")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests on the session's Ray cluster ``ray_cluster`` (``make test`` runs them after the rest,
    alone: actors import torch and train on one CPU each, and beside a second busy worker an actor took
    minutes to start). For ``--dist loadgroup`` a module's tests share a worker and its module fixtures,
    and groups that load a real model go first: they are the longest, and last they would leave a
    worker idle."""
    slow_groups: set[str] = set()
    for item in items:
        if "test_ray_address" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ray_cluster)
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
        if item.get_closest_marker("slow"):
            slow_groups.add(_group_of(item))
    items.sort(key=lambda item: _group_of(item) not in slow_groups)


def _group_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("xdist_group")
    return str(marker.args[0] if marker and marker.args else marker.kwargs.get("name", "")) if marker else ""


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
