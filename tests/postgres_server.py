"""A real, throw-away PostgreSQL server for tests (Debian's `postgresql` package).

initdb refuses to run as root, so the server runs as the `postgres` OS user (via
`runuser`) when the tests run as root; its data folder is a temporary directory owned by
that user, and it listens on a free loopback port only. Use as a context manager:

    with PostgresServer.start() as server:
        url = server.url("mydb")   # postgresql+psycopg://postgres:<password>@127.0.0.1:<port>/mydb
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import typing as t
from dataclasses import dataclass

SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing or the server did not start."""


def _binaries() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        on_path = shutil.which("initdb")
        if on_path is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): "
                "install the `postgresql` package (apt-get install postgresql; .ci/run does)"
            )
        return os.path.dirname(on_path)
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """One running server: its port, superuser password and data folder."""

    port: int
    password: str
    folder: str
    bin_dir: str
    run_as: list[str]

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb a fresh cluster in a temporary folder and start it on a free port."""
        bin_dir = _binaries()
        run_as: list[str] = []
        if os.geteuid() == 0:
            run_as = ["runuser", "-u", SUPERUSER, "--"]
        folder = tempfile.mkdtemp(prefix="pg-tests-")
        password = "pw-" + secrets.token_hex(8)
        pwfile = os.path.join(folder, "pwfile")
        with open(pwfile, "w") as handle:
            handle.write(password + "\n")
        if run_as:
            user = pwd.getpwnam(SUPERUSER)
            for path in (folder, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        data = os.path.join(folder, "data")
        server = cls(_free_port(), password, folder, bin_dir, run_as)
        server._run(
            "initdb",
            "-D",
            data,
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c TimeZone=Europe/Berlin"
        )
        server._run(
            "pg_ctl", "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start"
        )
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [*self.run_as, os.path.join(self.bin_dir, program), *args]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if completed.returncode != 0:
            raise PostgresUnavailable(
                f"{program} failed ({completed.returncode}): {completed.stderr or completed.stdout}"
            )

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """SQLAlchemy URL of a database on this server (psycopg 3)."""
        secret = self.password if password is None else password
        return f"postgresql+psycopg://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its URL."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self._run("pg_ctl", "-D", os.path.join(self.folder, "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.stop()
