"""PostgreSQL, PgBouncer and Redis from Debian's packages, and the reference API, on 127.0.0.1.

Each function returns a `ManagedServer` (localrun.processes): a context manager that starts the server
in a process group of its own and a temporary directory, waits until it serves, and stops it and
deletes its directory on the way out. Unix sockets go to that directory; no system service, port
or file is touched. Under root, PostgreSQL, PgBouncer and Redis run as `nobody`, owner of the
directory: PostgreSQL and PgBouncer refuse to run as root.
"""

from __future__ import annotations

import os
import secrets
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from lab.reference_api import ApiSettings
from loadtest.config import HEALTH
from localrun.ports import LOOPBACK, free_port, port_is_listening
from localrun.processes import ManagedServer, ServerSpec

POSTGRES_BIN = "/usr/lib/postgresql/15/bin"
PGBOUNCER_BINARY = "/usr/sbin/pgbouncer"
REDIS_BINARY = "/usr/bin/redis-server"
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
UNPRIVILEGED_USER = "nobody"  # exists on every Debian system, unlike `postgres` before the package


@dataclass(frozen=True)
class DatabaseAccount:
    """The cluster's accounts: an administrator over the Unix socket (trust), and the application's
    role over TCP with a password generated per lab (SCRAM), the way the API logs in on Cloud SQL."""

    admin_user: str = "lab_admin"
    app_user: str = "omni"
    database: str = "omni"
    app_password: str = ""

    @staticmethod
    def generated() -> DatabaseAccount:
        return DatabaseAccount(app_password=secrets.token_urlsafe(18))


def postgres(*, port: int = 0, max_connections: int = 300) -> ManagedServer:
    """A fresh PostgreSQL 15 cluster: initdb, then postgres on 127.0.0.1:`port`.

    Durability is off (fsync, synchronous_commit, full_page_writes): the cluster lives for one lab
    run, and disk flushes would measure the machine's disk rather than pooling and caching.
    """
    admin = DatabaseAccount.admin_user
    spec = ServerSpec(
        "postgresql",
        f"{POSTGRES_BIN}/postgres",
        "postgresql",
        # initdb wants a password for the superuser once any host method asks for one; nobody
        # uses it (the administrator comes in over the socket), so it is random and forgotten.
        {"superuser-password": secrets.token_urlsafe(18)},
        port,
        prepare=(
            (
                f"{POSTGRES_BIN}/initdb",
                "--pgdata={dir}/data",
                f"--username={admin}",
                "--pwfile={dir}/superuser-password",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ),
        ),
        ready=_postgres_ready,
        unprivileged_user=UNPRIVILEGED_USER,
    )
    return ManagedServer(
        spec,
        [
            "-D",
            "{dir}/data",
            "-p",
            "{port}",
            "-k",
            "{dir}",
            "-c",
            f"listen_addresses={LOOPBACK}",
            "-c",
            f"max_connections={max_connections}",
            "-c",
            "shared_buffers=64MB",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ],
    )


def admin_connection_string(server: ManagedServer, database: str = "postgres") -> str:
    """The administrator's libpq connection string: the Unix socket in the server's directory."""
    return f"host={server.directory} port={server.port} user={DatabaseAccount.admin_user} dbname={database}"


def _postgres_ready(server: ManagedServer) -> bool:
    # The port opens before recovery ends ("the database system is starting up"): ask a query.
    try:
        with psycopg.connect(admin_connection_string(server), connect_timeout=1) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


@dataclass(frozen=True)
class PoolSettings:
    """PgBouncer's pooling: transaction mode, `pool_size` server connections per database and role."""

    pool_size: int = 20  # the API's DB_POOL_SIZE (docs/configuration.md: api.dbPoolSize)
    max_client_connections: int = 500
    # No reserve pool: the lab's bound on server connections is exactly `pool_size`.
    reserve_pool_size: int = 0


def pgbouncer(database_port: int, account: DatabaseAccount, pooling: PoolSettings, *, port: int = 0) -> ManagedServer:
    """PgBouncer in transaction pooling mode in front of the database on 127.0.0.1:`database_port`.

    Clients authenticate with SCRAM against `userlist.txt` (the application's generated password);
    PgBouncer logs in to PostgreSQL with the same password. TCP only: no Unix socket.
    """
    port = port or free_port()  # written into the ini file, which is all PgBouncer reads
    configuration = "\n".join(
        [
            "[databases]",
            f"{account.database} = host={LOOPBACK} port={database_port} dbname={account.database}",
            "",
            "[pgbouncer]",
            f"listen_addr = {LOOPBACK}",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = scram-sha-256",
            "auth_file = userlist.txt",  # relative to the work directory, PgBouncer's working directory
            "pool_mode = transaction",
            f"default_pool_size = {pooling.pool_size}",
            "min_pool_size = 0",
            f"reserve_pool_size = {pooling.reserve_pool_size}",
            f"max_client_conn = {pooling.max_client_connections}",
            "ignore_startup_parameters = extra_float_digits",
            "",
        ]
    )
    spec = ServerSpec(
        "pgbouncer",
        PGBOUNCER_BINARY,
        "pgbouncer",
        {"pgbouncer.ini": configuration, "userlist.txt": f'"{account.app_user}" "{account.app_password}"\n'},
        port,
        ready=lambda server: port_is_listening(server.port),
        unprivileged_user=UNPRIVILEGED_USER,
    )
    return ManagedServer(spec, ["pgbouncer.ini"])


def redis_server(*, port: int = 0) -> ManagedServer:
    """Redis without persistence (`--save ''`, no append-only file): a cache, as Memorystore is."""
    spec = ServerSpec(
        "redis",
        REDIS_BINARY,
        "redis-server",
        {},
        port,
        ready=_redis_ready,
        unprivileged_user=UNPRIVILEGED_USER,
    )
    return ManagedServer(
        spec,
        [
            "--bind",
            LOOPBACK,
            "--port",
            "{port}",
            "--save",
            "",
            "--appendonly",
            "no",
            "--unixsocket",
            "{dir}/redis.sock",
            "--dir",
            "{dir}",
            "--loglevel",
            "warning",
        ],
    )


def redis_url(server: ManagedServer) -> str:
    return f"redis://{LOOPBACK}:{server.port}/0"


def _redis_ready(server: ManagedServer) -> bool:
    try:
        return bool(redis.Redis(host=LOOPBACK, port=server.port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def reference_api(settings: ApiSettings, *, instances: int, port: int = 0) -> ManagedServer:
    """The reference API (lab.reference_api) under uvicorn: `instances` worker processes, each
    with its own database pool, as Cloud Run runs several instances of the API."""
    spec = ServerSpec(
        "reference-api",
        sys.executable,
        "python3",
        {},
        port,
        prepare=(("mkdir", "{dir}/prometheus-multiproc"),),
        ready=_api_ready,
        environment={
            **settings.environment(),
            "PROMETHEUS_MULTIPROC_DIR": "{dir}/prometheus-multiproc",
            # The workers import `lab` and `loadtest` from the repository's root.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPOSITORY_ROOT), os.environ.get("PYTHONPATH")])),
        },
    )
    return ManagedServer(
        spec,
        [
            "-m",
            "uvicorn",
            "--factory",
            "lab.reference_api:create_app",
            "--host",
            LOOPBACK,
            "--port",
            "{port}",
            "--workers",
            str(instances),
            # A burst of 200 new users must not wait on SYN retries (docs/loadtest.md).
            "--backlog",
            "4096",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
    )


def _api_ready(server: ManagedServer) -> bool:
    try:
        with urllib.request.urlopen(f"{server.url}{HEALTH.path}", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
