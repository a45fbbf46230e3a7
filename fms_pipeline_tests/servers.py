"""Real servers for the cluster tests, started on 127.0.0.1 on free ports and stopped afterwards:
PostgreSQL from Debian's package (the Dagster instance's storage) and moto's standalone S3
server (the object store). Nothing here is skipped: a missing server is an error that says how
to install it."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ServerError(RuntimeError):
    """A test server could not be installed or started; the message says why and what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(ready, what: str, log: Path | None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise ServerError(f"{what} did not become ready within {timeout:.0f} s" + (f"; its log ends:\n{tail}" if tail else ""))


# ---------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    database: str

    def env(self) -> dict[str, str]:
        """The FMS_PG_* variables deploy/dagster-postgres.yaml reads."""
        return {"FMS_PG_HOST": self.host, "FMS_PG_PORT": str(self.port), "FMS_PG_USER": self.user,
                "FMS_PG_PASSWORD": self.password, "FMS_PG_DB": self.database}

    def connect(self):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=self.database)

    def new_database(self, name: str) -> Postgres:
        """An empty database on the same server (a test's own Dagster instance)."""
        import psycopg2

        with contextlib.closing(psycopg2.connect(host=self.host, port=self.port, user=self.user,
                                                 password=self.password, dbname="postgres")) as con:
            con.autocommit = True
            con.cursor().execute(f'CREATE DATABASE "{name}"')
        return Postgres(self.host, self.port, self.user, self.password, name)


def postgres_bin_dir() -> Path:
    """Debian's PostgreSQL programs (the newest installed major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise ServerError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): run the README's test command, "
            "which installs it, or `apt-get install -y postgresql`")
    return Path(found[-1]).parent


def _as_postgres_user() -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as the package's `postgres` user."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise ServerError("running as root and `runuser` is missing: cannot start PostgreSQL as the postgres user")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerError("running as root and there is no `postgres` system user (Debian's postgresql package "
                          "creates it): `apt-get install -y postgresql`") from None
    return ["runuser", "-u", "postgres", "--"]


@contextlib.contextmanager
def postgres_server(user: str = "fms", password: str = "fms-test-password", database: str = "dagster") -> Iterator[Postgres]:
    """A fresh PostgreSQL cluster in a temporary folder, password authentication over TCP on
    127.0.0.1 only, with an empty ``database``; stopped and removed at the end."""
    bin_dir = postgres_bin_dir()
    prefix = _as_postgres_user()
    folder = Path(tempfile.mkdtemp(prefix="fms-postgres-"))
    data, log, pwfile = folder / "data", folder / "server.log", folder / "password"
    pwfile.write_text(password)
    if prefix:  # the server's user must own the folder (mkdtemp makes it 0700 for root)
        shutil.chown(folder, "postgres")
        shutil.chown(pwfile, "postgres")
    port = free_port()
    started = False
    try:
        _run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", user, f"--pwfile={pwfile}",
              "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"], "initdb")
        # No Unix socket in /var/run (it may not exist): the cluster's own folder.
        options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
        _run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
              "start"], "pg_ctl start", log)
        started = True
        server = Postgres("127.0.0.1", port, user, password, database)
        import psycopg2

        with contextlib.closing(psycopg2.connect(host=server.host, port=port, user=user, password=password,
                                                 dbname="postgres")) as con:
            con.autocommit = True
            con.cursor().execute(f'CREATE DATABASE "{database}"')
        yield server
    finally:
        if started:
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise ServerError(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}{tail}")


# ---------------------------------------------------------------- Dagster's processes


def start_in_own_group(command: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """``command`` in a process group of its own (with every process it starts) and SIGINT at its
    default action: started in the background, Dagster's programs ignore SIGINT and SIGTERM
    otherwise. Stop it with ``stop_group`` (or ``os.killpg`` to kill it), never by name."""
    reset = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-c", reset, *command], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def group_members(process: subprocess.Popen) -> list[int]:
    """The live processes (not zombies) of the process's group, from /proc."""
    process.poll()  # reap the leader if it has exited
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == process.pid:  # state, ppid, pgrp
            members.append(int(stat.parent.name))
    return members


def stop_group(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM to the process's group; SIGKILL to what is left of it after ``timeout`` seconds."""
    import signal

    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while group_members(process) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not group_members(process):
            break
    process.wait(timeout=10)


# ---------------------------------------------------------------- S3 (moto)


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """The variables botocore (s3fs, boto3) reads for credentials, endpoint and region."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_DEFAULT_REGION": self.region}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region)


@contextlib.contextmanager
def moto_s3_server() -> Iterator[S3Server]:
    """moto's standalone server (the `moto[server]` dev dependency) on a free port; stopped at the end."""
    try:
        import moto.server  # noqa: F401
    except ImportError as error:
        raise ServerError(f"moto's server is not installed ({error}): it is a dev dependency, `uv sync --frozen`") from None
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="fms-moto-"))
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise ServerError(f"moto_server exited with {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            return False

    try:
        _wait_until(ready, "moto_server", log)
        yield S3Server(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
