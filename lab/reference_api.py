"""A small reference API that serves the load suite's routes the way the Omni API does.

A pooled PostgreSQL client (psycopg 3's async pool, sized by the platform's `DB_POOL_SIZE` and
`DB_MAX_OVERFLOW`), cache-aside item reads in Redis with a jittered TTL, writes and background tasks in the
database, and the catalogue's app metrics on `/metrics`. It runs under uvicorn with several worker
processes, each standing for one API instance with its own pool, as Cloud Run instances do:

    OMNI_LAB_DATABASE_URL=... OMNI_LAB_REDIS_URL=... python -m uvicorn --factory \
        lab.reference_api:create_app --workers 4

Routes (loadtest/config.py): `GET /healthz`, `GET /v1/items/{id}` (cache-aside), `GET /v1/search`
(never cached), `POST /v1/items`, `POST /v1/tasks`, `GET /v1/tasks/{id}`, and `GET /metrics`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lab.app_metrics import AppMetrics
from loadtest import config as suite

SERVICE = "api"  # the `service` label the catalogue's queries select on
CACHE_NAME = "items"
ITEM_KEY = "item:{id}"
TASK_WORKER_INTERVAL_SECONDS = 0.1
POOL_GAUGE_INTERVAL_SECONDS = 1.0
SEARCH_LIMIT = 20
TTL_JITTER = 0.2  # each cache entry lives the TTL +- 20 %
SEARCH_PATH = suite.UNCACHED_READ.path.partition("?")[0]  # the suite's path without its query

ENV_DATABASE_URL = "OMNI_LAB_DATABASE_URL"
ENV_REDIS_URL = "OMNI_LAB_REDIS_URL"
ENV_CACHE = "OMNI_LAB_CACHE"
ENV_ITEM_QUERY_MS = "OMNI_LAB_ITEM_QUERY_MS"
ENV_CACHE_TTL = "OMNI_LAB_CACHE_TTL_SECONDS"
ENV_TASK_RUN_MS = "OMNI_LAB_TASK_RUN_MS"
# The names the platform gives the API's containers (components/app_contract.py).
ENV_POOL_SIZE = "DB_POOL_SIZE"
ENV_MAX_OVERFLOW = "DB_MAX_OVERFLOW"

SCHEMA = """
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    price_cents integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_name_prefix ON items (name text_pattern_ops);
CREATE TABLE reviews (
    id bigserial PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES items (id),
    stars smallint NOT NULL CHECK (stars BETWEEN 1 AND 5)
);
CREATE INDEX reviews_item ON reviews (item_id);
CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    item_id bigint NOT NULL,
    status text NOT NULL DEFAULT 'queued',
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX tasks_queued ON tasks (created_at) WHERE status = 'queued';
"""

# The item page joins the item with an aggregate of its reviews. The seeded tables are small, so
# `pg_sleep` adds what the same query costs on a production-size database; it holds the server
# connection meanwhile, which is what pooling and caching are about.
ITEM_QUERY = """
WITH production_size_cost AS MATERIALIZED (SELECT pg_sleep(%(cost_seconds)s))
SELECT i.id, i.name, i.price_cents, count(r.id) AS reviews, coalesce(avg(r.stars), 0)::float8 AS rating
FROM items i CROSS JOIN production_size_cost LEFT JOIN reviews r ON r.item_id = i.id
WHERE i.id = %(id)s
GROUP BY i.id
"""
# Search is a prefix lookup on an index: cheap, but never cached (every term is new).
SEARCH_QUERY = "SELECT id, name, price_cents FROM items WHERE name LIKE %(prefix)s ORDER BY name LIMIT %(limit)s"
# The stand-in for the Celery worker: tasks queued long enough are done; a reindex refreshes the
# item, and the item's cache entry is dropped (cache-aside invalidation).
FINISH_TASKS = """
UPDATE tasks SET status = 'succeeded', finished_at = now()
WHERE id IN (
    SELECT id FROM tasks WHERE status = 'queued' AND created_at < now() - %(run_time)s * interval '1 millisecond'
    ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED
)
RETURNING item_id
"""


@dataclass(frozen=True)
class ApiSettings:
    """How one reference API runs; handed to its worker processes in environment variables."""

    database_url: str  # a libpq connection string: PostgreSQL itself, or PgBouncer
    redis_url: str
    cache: bool = True  # False: every item read goes to the database
    pool_size: int = 20  # connections each instance keeps open (the platform's api.dbPoolSize)
    max_overflow: int = 10  # more under bursts (api.dbMaxOverflow)
    item_query_ms: float = 25.0
    cache_ttl_seconds: int = 30
    task_run_ms: float = 300.0  # how long a background task takes before it is done

    def environment(self) -> dict[str, str]:
        return {
            ENV_DATABASE_URL: self.database_url,
            ENV_REDIS_URL: self.redis_url,
            ENV_CACHE: "on" if self.cache else "off",
            ENV_POOL_SIZE: str(self.pool_size),
            ENV_MAX_OVERFLOW: str(self.max_overflow),
            ENV_ITEM_QUERY_MS: repr(self.item_query_ms),
            ENV_CACHE_TTL: str(self.cache_ttl_seconds),
            ENV_TASK_RUN_MS: repr(self.task_run_ms),
        }

    @staticmethod
    def from_environment(environ: Mapping[str, str] = os.environ) -> ApiSettings:
        missing = [name for name in (ENV_DATABASE_URL, ENV_REDIS_URL) if not environ.get(name)]
        if missing:
            raise ValueError(f"the reference API needs {' and '.join(missing)}")
        return ApiSettings(
            database_url=environ[ENV_DATABASE_URL],
            redis_url=environ[ENV_REDIS_URL],
            cache=environ.get(ENV_CACHE, "on") != "off",
            pool_size=int(environ.get(ENV_POOL_SIZE, "20")),
            max_overflow=int(environ.get(ENV_MAX_OVERFLOW, "10")),
            item_query_ms=float(environ.get(ENV_ITEM_QUERY_MS, "25")),
            cache_ttl_seconds=int(environ.get(ENV_CACHE_TTL, "30")),
            task_run_ms=float(environ.get(ENV_TASK_RUN_MS, "300")),
        )


def prepare_database(connection_string: str, *, items: int, reviews_per_item: int = 20) -> None:
    """Create the schema and seed `items` items (ids 1..items: the suite's hot items) with reviews."""
    with psycopg.connect(connection_string, autocommit=True) as connection:
        with connection.transaction():
            connection.execute(SCHEMA)
            connection.execute(
                "INSERT INTO items (name, price_cents) SELECT 'item-' || lpad(n::text, 6, '0'), 100 + n %% 9900 "
                "FROM generate_series(1, %(items)s) AS n",
                {"items": items},
            )
            connection.execute(
                "INSERT INTO reviews (item_id, stars) SELECT i, 1 + (i * 7 + r) %% 5 "
                "FROM generate_series(1, %(items)s) AS i, generate_series(1, %(reviews)s) AS r",
                {"items": items, "reviews": reviews_per_item},
            )
        connection.execute("ANALYZE")


class ReferenceApi:
    """One instance: its database pool, its Redis client, its metrics, its task worker."""

    def __init__(self, settings: ApiSettings):
        self.settings = settings
        # Transaction pooling gives each transaction any server connection, so a statement
        # prepared on one is unknown on the next: never prepare (`prepare_threshold=None`).
        self.pool = AsyncConnectionPool(
            settings.database_url,
            min_size=settings.pool_size,
            max_size=settings.pool_size + settings.max_overflow,
            kwargs={"prepare_threshold": None, "row_factory": dict_row},
            open=False,
            timeout=10.0,
            name="omni-reference-api",
        )
        self.cache = aioredis.Redis.from_url(settings.redis_url, socket_timeout=2.0)
        # prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR) sums the workers'
        # values at scrape time; this registry only holds the metric objects.
        self.metrics = AppMetrics(CollectorRegistry())
        self._background: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.pool.open(wait=True)
        self._background = [
            asyncio.create_task(self._run_task_worker()),
            asyncio.create_task(self._report_pool()),
        ]

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.pool.close()
        await self.cache.aclose()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
        waited_from = time.perf_counter()
        async with self.pool.connection() as connection:
            self.metrics.db_pool_wait.labels(service=SERVICE).observe(time.perf_counter() - waited_from)
            yield connection  # type: ignore[misc]  # the pool's row factory is dict_row

    async def item(self, item_id: int) -> dict[str, Any] | None:
        """Cache-aside: Redis first; on a miss the database, then Redis for `cache_ttl_seconds`."""
        key = ITEM_KEY.format(id=item_id)
        if self.settings.cache:
            cached = await self.cache.get(key)
            self.metrics.cache_requests.labels(
                service=SERVICE, cache=CACHE_NAME, result="hit" if cached else "miss"
            ).inc()
            if cached:
                return json.loads(cached)
        async with self.connection() as connection:
            cursor = await connection.execute(
                ITEM_QUERY, {"id": item_id, "cost_seconds": self.settings.item_query_ms / 1000}
            )
            row = await cursor.fetchone()
        if row is not None and self.settings.cache:
            await self.cache.set(key, json.dumps(row), ex=self._jittered_ttl())
        return row

    def _jittered_ttl(self) -> int:
        # Hot items are filled together (a cold start, a deploy); with one fixed TTL they would
        # also expire together and send every reader to the database at once. The first version
        # of the lab showed that stampede as a p95 bump one TTL after the start.
        ttl = self.settings.cache_ttl_seconds
        return max(1, round(ttl * random.uniform(1 - TTL_JITTER, 1 + TTL_JITTER)))

    async def search(self, term: str) -> list[dict[str, Any]]:
        prefix = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        async with self.connection() as connection:
            cursor = await connection.execute(SEARCH_QUERY, {"prefix": prefix, "limit": SEARCH_LIMIT})
            return await cursor.fetchall()

    async def create_item(self, name: str, price_cents: int) -> dict[str, Any]:
        async with self.connection() as connection:
            cursor = await connection.execute(
                "INSERT INTO items (name, price_cents) VALUES (%(name)s, %(price)s) RETURNING id, name, price_cents",
                {"name": name, "price": price_cents},
            )
            row = await cursor.fetchone()
        assert row is not None  # INSERT ... RETURNING returns the row
        return row

    async def submit_task(self, kind: str, item_id: int) -> dict[str, Any]:
        async with self.connection() as connection:
            cursor = await connection.execute(
                "INSERT INTO tasks (kind, item_id) VALUES (%(kind)s, %(item)s) RETURNING id, status",
                {"kind": kind, "item": item_id},
            )
            row = await cursor.fetchone()
        assert row is not None
        return row

    async def task(self, task_id: int) -> dict[str, Any] | None:
        async with self.connection() as connection:
            cursor = await connection.execute("SELECT id, status FROM tasks WHERE id = %(id)s", {"id": task_id})
            return await cursor.fetchone()

    async def _run_task_worker(self) -> None:
        while True:
            await asyncio.sleep(TASK_WORKER_INTERVAL_SECONDS)
            try:
                async with self.connection() as connection:
                    cursor = await connection.execute(FINISH_TASKS, {"run_time": self.settings.task_run_ms})
                    finished = await cursor.fetchall()
                if finished and self.settings.cache:
                    await self.cache.delete(*{ITEM_KEY.format(id=row["item_id"]) for row in finished})
            except (psycopg.Error, aioredis.RedisError):
                continue  # the next round retries; a task left queued shows as a timeout in the suite

    async def _report_pool(self) -> None:
        while True:
            stats = self.pool.get_stats()
            open_connections, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
            self.metrics.db_pool_connections.labels(service=SERVICE, state="in_use").set(open_connections - idle)
            self.metrics.db_pool_connections.labels(service=SERVICE, state="idle").set(idle)
            await asyncio.sleep(POOL_GAUGE_INTERVAL_SECONDS)


Handler = Callable[[Request], Awaitable[Response]]


def create_app() -> Starlette:
    """The ASGI application, configured from the environment (`ApiSettings.environment`)."""
    api = ReferenceApi(ApiSettings.from_environment())

    def measured(route: str, handler: Handler) -> Handler:
        async def serve(request: Request) -> Response:
            started = time.perf_counter()
            in_flight = api.metrics.http_requests_in_flight.labels(service=SERVICE)
            in_flight.inc()
            try:
                response = await handler(request)
            except Exception:
                response = JSONResponse({"error": "internal error"}, status_code=500)
            finally:
                in_flight.dec()
            api.metrics.http_requests.labels(
                service=SERVICE, route=route, method=request.method, code=str(response.status_code)
            ).inc()
            api.metrics.http_request_duration.labels(service=SERVICE, route=route, method=request.method).observe(
                time.perf_counter() - started
            )
            return response

        return serve

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def get_item(request: Request) -> Response:
        item_id = _positive_int(request.path_params["id"])
        row = await api.item(item_id) if item_id else None
        return JSONResponse(row) if row else JSONResponse({"error": "no such item"}, status_code=404)

    async def search(request: Request) -> Response:
        return JSONResponse({"items": await api.search(request.query_params.get("q", ""))})

    async def create_item(request: Request) -> Response:
        body = await _json_object(request)
        name, price = body.get("name"), body.get("price_cents")
        if not isinstance(name, str) or not name or not isinstance(price, int) or price < 0:
            return JSONResponse({"error": "expected {name: str, price_cents: int >= 0}"}, status_code=422)
        return JSONResponse(await api.create_item(name, price), status_code=suite.WRITE.expect)

    async def submit_task(request: Request) -> Response:
        body = await _json_object(request)
        kind, item_id = body.get("kind"), body.get("item_id")
        if not isinstance(kind, str) or not isinstance(item_id, int):
            return JSONResponse({"error": "expected {kind: str, item_id: int}"}, status_code=422)
        return JSONResponse(await api.submit_task(kind, item_id), status_code=suite.SUBMIT_TASK.expect)

    async def get_task(request: Request) -> Response:
        task_id = _positive_int(request.path_params["id"])
        row = await api.task(task_id) if task_id else None
        return JSONResponse(row) if row else JSONResponse({"error": "no such task"}, status_code=404)

    async def metrics(request: Request) -> Response:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await api.start()
        try:
            yield
        finally:
            await api.stop()

    # Route templates as the catalogue's `route` label spells them (the suite's paths).
    routes = [
        Route(suite.HEALTH.path, healthz, methods=["GET"]),
        Route(suite.CACHED_READ.path, measured(suite.CACHED_READ.path, get_item), methods=["GET"]),
        Route(SEARCH_PATH, measured(SEARCH_PATH, search), methods=["GET"]),
        Route(suite.WRITE.path, measured(suite.WRITE.path, create_item), methods=["POST"]),
        Route(suite.SUBMIT_TASK.path, measured(suite.SUBMIT_TASK.path, submit_task), methods=["POST"]),
        Route(suite.POLL_TASK.path, measured(suite.POLL_TASK.path, get_task), methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _positive_int(text: str) -> int | None:
    return int(text) if text.isdigit() and int(text) > 0 else None


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
