"""Throwaway services a test session starts when it is not given them: a PostgreSQL cluster in a temp
dir (Debian's ``postgresql`` binaries, ``scripts/setup.sh --test`` installs them) and the two-node
loopback Ray cluster of ``scripts/ray_cluster.sh``. Both listen on loopback only, on ports found free,
and are stopped by stopping exactly the processes they started."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAY_PORTS = 50  # scripts/ray_cluster.sh uses ports base .. base+49
# Ray port bases tried in turn, clear of 18250-18299 (the script's default) and 18350-18399.
RAY_PORT_BASES = range(18500, 20000, 50)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ports_free(first: int, count: int) -> bool:
    for port in range(first, first + count):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's bin dir (Debian keeps them off PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name))
    return Path(dirs[-1]) if dirs else None


@dataclass
class TempPostgres:
    """A PostgreSQL cluster of its own (initdb + pg_ctl) on a free loopback port, password auth."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ftlab-test-pg-")))
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        # PostgreSQL refuses to run as root: run it as the `postgres` system user (Debian's package
        # creates it) and give that user the cluster's directory.
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["runuser", "-u", "postgres", "--"]
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")

    def start(self) -> str:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL server is installed (scripts/setup.sh --test installs it)")
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in (self.root, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        pwfile.chmod(0o600)
        data = self.root / "data"
        self._run(
            str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        log = str(self.root / "log")
        self._run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
        return self.url

    def stop(self) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is not None and (self.root / "data" / "postmaster.pid").exists():
            self._run(str(bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class TempRayCluster:
    """``scripts/ray_cluster.sh`` on a free port range and a temp dir of its own."""

    temp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ftlab-test-ray-")))
    port_base: int = 0

    @property
    def token_path(self) -> Path:
        return self.temp / "auth_token"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "FTLAB_RAY_PORT_BASE": str(self.port_base),
            "FTLAB_RAY_TEMP": str(self.temp),
            "RAY_AUTH_TOKEN_PATH": str(self.token_path),
        }

    def start(self) -> str:
        if not self.port_base:
            self.port_base = next((b for b in RAY_PORT_BASES if _ports_free(b, RAY_PORTS)), 0)
            if not self.port_base:
                raise RuntimeError("no free range of 50 ports for a test Ray cluster")
        done = subprocess.run(
            [str(ROOT / "scripts" / "ray_cluster.sh"), "start"],
            env=self._env(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"scripts/ray_cluster.sh start failed: {done.stdout}{done.stderr}")
        return done.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "ray_cluster.sh"), "stop"], env=self._env(), timeout=120)
        shutil.rmtree(self.temp, ignore_errors=True)


@contextlib.contextmanager
def ray_client_of(cluster: TempRayCluster, address: str) -> Iterator[str]:
    """This process as a client of ``cluster`` (its address and token in the environment, as the app's
    Ray runner reads them) until the block ends; then its driver connection goes, before the cluster."""
    exported = {
        "FTLAB_TEST_RAY_ADDRESS": address,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(cluster.token_path),
    }
    saved = {name: os.environ.get(name) for name in exported}
    os.environ.update(exported)
    try:
        yield address
    finally:
        try:
            import ray

            ray.shutdown()
        except ImportError:
            pass
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
