"""A private PostgreSQL server in a directory of ours, for `manage.py up` and the tests.

PostgreSQL refuses to run as root, so when we are root the data directory is
given to the `postgres` system user and initdb/pg_ctl run through `runuser`.
The server listens on 127.0.0.1 only, with its unix socket inside the data
directory (mode 0700: only the server's user reaches it). It accepts one role, the
pool's own, and only with its password (scram-sha-256), which is made at creation
and kept beside the data directory in a file only the pool's user can read; any
other local user, or any other role, is refused.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg2
from psycopg2 import sql

from config.ports import free_port

POSTGRES_USER = "postgres"
DEFAULT_DATABASE = "kalepool"
PORT_FILE = "kalepool.port"
# Only the pool's role, only with its password, on the socket and on loopback; nothing else matches.
PG_HBA = ("# kalepool: the pool's own role with its password only\n"
          f"local all {POSTGRES_USER} scram-sha-256\n"
          f"host all {POSTGRES_USER} 127.0.0.1/32 scram-sha-256\n")


class ClusterError(RuntimeError):
    """The private cluster could not be created, started or stopped; the message says why."""


def find_binary(name: str) -> str:
    """Path of a PostgreSQL server binary: the newest /usr/lib/postgresql/*/bin first, then PATH."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0)
    for directory in reversed(versions):
        candidate = Path(directory) / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise ClusterError(f"PostgreSQL server binary {name!r} not found; install the postgresql "
                           "package (scripts/setup.sh does)")
    return found


class PrivateCluster:
    """initdb + pg_ctl over one data directory; `url` is the `kalepool` database on it.

    `fast=True` turns off fsync and friends: for throw-away test clusters only.
    """

    def __init__(self, data_dir: str | Path, port: int | None = None, *, fast: bool = False,
                 database: str = DEFAULT_DATABASE, max_connections: int = 200):
        self.data_dir = Path(data_dir).absolute()
        self._port = port
        self.fast = fast
        self.database = database
        self.max_connections = max_connections
        self._as_postgres = os.geteuid() == 0

    @property
    def port(self) -> int:
        """The TCP port: given, remembered from an earlier start, or picked now and remembered."""
        if self._port is None:
            remembered = self.data_dir / PORT_FILE
            self._port = int(remembered.read_text()) if remembered.exists() else free_port()
        return self._port

    @property
    def password_file(self) -> Path:
        """Where the pool's role password is kept: beside the data directory, mode 0600."""
        return self.data_dir.with_name(self.data_dir.name + ".password")

    @property
    def url(self) -> str:
        """A libpq URL for the cluster's application database (it carries the password: never log it)."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """A libpq URL for any database on this cluster."""
        password = self.password_file.read_text().strip() if self.password_file.exists() else ""
        credentials = f"{POSTGRES_USER}:{password}" if password else POSTGRES_USER
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{database}"

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        """Whether a server is running on this data directory."""
        if not self.initialised:
            return False
        return self._run(find_binary("pg_ctl"), "status", "-D", str(self.data_dir), check=False).returncode == 0

    def start(self) -> "PrivateCluster":
        """Create the cluster if needed, start it if stopped, and make sure the database exists."""
        if not self.initialised:
            self._initdb()
        if not self.running():
            self._start_server()
        return self.ready()

    def prepare(self) -> "PrivateCluster":
        """Create the cluster if needed and stop any server left on it, so a supervisor may run
        `server_command()` in the foreground; then call `wait_ready()`."""
        if not self.initialised:
            self._initdb()
        self.stop()
        return self

    def server_command(self) -> list[str]:
        """The server in the foreground, as a supervisor runs it (SIGINT stops it fast)."""
        return self._as_user([find_binary("postgres"), "-D", str(self.data_dir), *self._server_args()])

    def wait_ready(self, timeout: float = 60.0) -> "PrivateCluster":
        """Wait until a server on this cluster accepts connections, then `ready()` it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(self.url_for("postgres"), connect_timeout=5).close()
                return self.ready()
            except psycopg2.OperationalError:
                if time.monotonic() >= deadline:
                    raise ClusterError(f"PostgreSQL on {self.data_dir} did not accept connections within "
                                       f"{timeout:.0f} s; see its log") from None
                time.sleep(0.2)

    def ready(self) -> "PrivateCluster":
        """On a running server: require the password if an older cluster did not, create the database."""
        if not self.password_file.exists():
            self._require_password()
        self._ensure_database()
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown); a stopped cluster is left as it is."""
        if self.running():
            self._run(find_binary("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w")

    def __enter__(self) -> "PrivateCluster":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            self._hand_to_postgres()
        password = secrets.token_urlsafe(32)
        with tempfile.TemporaryDirectory() as scratch:  # initdb reads the password from a file, not argv
            pwfile = Path(scratch) / "pw"
            pwfile.write_text(password + "\n")
            if self._as_postgres:
                os.chmod(scratch, 0o755)
                shutil.chown(pwfile, POSTGRES_USER)
            pwfile.chmod(0o600)
            args = [find_binary("initdb"), "-D", str(self.data_dir), "-U", POSTGRES_USER, f"--pwfile={pwfile}",
                    "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"]
            if self.fast:
                args.append("--no-sync")
            self._run(*args)
        self._write_hba()
        self._keep_password(password)
        (self.data_dir / PORT_FILE).write_text(str(self.port))

    def _write_hba(self) -> None:
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(PG_HBA)
        if self._as_postgres:
            shutil.chown(hba, POSTGRES_USER)
        hba.chmod(0o600)

    def _keep_password(self, password: str) -> None:
        descriptor = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(password + "\n")

    def _require_password(self) -> None:
        """A cluster made before passwords (it trusts local users): give the role one, then require it."""
        password = secrets.token_urlsafe(32)
        connection = psycopg2.connect(self.url_for("postgres"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(POSTGRES_USER)),
                               (password,))
        finally:
            connection.close()
        self._keep_password(password)
        self._write_hba()
        self._run(find_binary("pg_ctl"), "reload", "-D", str(self.data_dir))

    def _server_args(self) -> list[str]:
        settings = ["listen_addresses=127.0.0.1", f"unix_socket_directories={self.data_dir}",
                    f"max_connections={self.max_connections}"]
        if self.fast:
            settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        return ["-p", str(self.port), *(arg for setting in settings for arg in ("-c", setting))]

    def _start_server(self) -> None:
        self._run(find_binary("pg_ctl"), "start", "-D", str(self.data_dir), "-w", "-t", "60",
                  "-l", str(self.data_dir / "server.log"), "-o", shlex.join(self._server_args()))

    def _ensure_database(self) -> None:
        import psycopg2  # only the cluster's users need the driver at import time

        connection = psycopg2.connect(self.url_for("postgres"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            connection.close()

    def _hand_to_postgres(self) -> None:
        try:
            user = pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            raise ClusterError("running as root needs the 'postgres' system user "
                               "(the postgresql package creates it)") from None
        for parent in self.data_dir.parents:
            if not os.stat(parent).st_mode & 0o001:
                raise ClusterError(f"the postgres user cannot reach {self.data_dir}: "
                                   f"{parent} is not searchable by others")
        os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        os.chmod(self.data_dir, 0o700)

    def _as_user(self, args: list[str]) -> list[str]:
        """`args` as the server's user: through runuser when we are root."""
        return ["runuser", "-u", POSTGRES_USER, "--", *args] if self._as_postgres else list(args)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(self._as_user(list(args)), capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ClusterError(f"{Path(args[0]).name} {args[1] if len(args) > 1 else ''} failed: "
                               f"{detail[-1] if detail else 'exit status ' + str(result.returncode)}")
        return result


def private_cluster(state_dir: str | Path) -> PrivateCluster:
    """The pool's own cluster under the state directory (used when DATABASE_URL is unset)."""
    return PrivateCluster(Path(state_dir) / "postgres")


def database_url(settings) -> str:
    """The pool's database URL: DATABASE_URL, or the private cluster's, started if it is stopped."""
    if settings.database_url:
        return settings.database_url
    return private_cluster(settings.state_dir).start().url


@contextmanager
def database_url_for_once(settings) -> Iterator[str]:
    """`database_url` for a one-off command: a private cluster it had to start is stopped again
    afterwards, so no server is left running once the command is done."""
    if settings.database_url:
        yield settings.database_url
        return
    cluster = private_cluster(settings.state_dir)
    was_running = cluster.running()
    try:
        yield cluster.start().url
    finally:
        if not was_running:
            cluster.stop()


def _execute_outside_transaction(server_url: str, statement: sql.Composable) -> None:
    connection = psycopg2.connect(server_url)
    try:
        connection.autocommit = True  # CREATE/DROP DATABASE refuse to run inside a transaction
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create_database(server_url: str, prefix: str) -> tuple[str, str]:
    """A new, empty database named `<prefix>_<random>` on the server: (name, URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _execute_outside_transaction(server_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, f"{server_url.rpartition('/')[0]}/{name}"


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` from the server, closing its connections (no error if it is gone)."""
    _execute_outside_transaction(
        server_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
