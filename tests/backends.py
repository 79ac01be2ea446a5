"""The run stores that the store's tests run on, through one interface: SQLite
in a state directory of the test, and PostgreSQL in a database of the test's
own on a real server (`PYCRON_TEST_POSTGRESQL`, by default the user postgres
on 127.0.0.1:5432), created for the test and dropped after it, its
connections ended first. Where no server answers, the PostgreSQL tests skip,
saying so."""

from __future__ import annotations

import os
import secrets
import sqlite3
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest

from pycron.store import Store
from pycron.store.postgresql import NOTE_PREFIX, PostgresStore
from pycron.store.sqlite import END_NOTE, FILE_NAME, SQLiteStore

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Set (by `.ci/run`, when it reached both servers): a test that finds its server
# absent fails instead of skipping.
REQUIRE_SERVERS = "PYCRON_REQUIRE_SERVERS"


def server_absent(reason: str) -> NoReturn:
    """Skip a test whose server does not answer, saying why; where the run
    requires the servers, fail it instead: a skip there would hide that
    the cluster's tests did not run."""
    if os.environ.get(REQUIRE_SERVERS):
        pytest.fail(f"{reason}, though the servers were reachable when the run began")
    pytest.skip(reason)


class Backend(ABC):
    """Where one test's store lives, and how to reach it from outside the store."""

    name: str
    notes: Path  # the directory where the store notes ends it cannot take
    note_prefix: str  # how their names start

    @abstractmethod
    def open(self, host: str | None = "here") -> Store:
        """Open the test's store (again), naming this machine `host`."""

    @property
    @abstractmethod
    def where(self) -> str:
        """What a child process opens the store with (see `CHILD_OPEN`)."""

    @abstractmethod
    def raw(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a statement (`?` parameters) on a connection of its own,
        bypassing the store."""


class SQLiteBackend(Backend):
    name = "sqlite"
    note_prefix = END_NOTE

    def __init__(self, state: Path) -> None:
        self.notes = state

    def open(self, host: str | None = "here") -> Store:
        return SQLiteStore.open(self.notes, host=host)

    @property
    def where(self) -> str:
        return str(self.notes)

    def raw(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        return sqlite_raw(self.notes / FILE_NAME, sql, params)


def sqlite_raw(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
    """Rows of a statement on a connection of its own to the SQLite file at
    `path`, bypassing the store."""
    db = sqlite3.connect(path)
    try:
        with db:
            return db.execute(sql, params).fetchall()
    finally:
        db.close()


class PostgresBackend(Backend):
    name = "postgresql"
    note_prefix = NOTE_PREFIX

    def __init__(self, url: str, notes: Path) -> None:
        self.url = url
        self.notes = notes
        notes.mkdir(mode=0o700, parents=True, exist_ok=True)

    def open(self, host: str | None = "here") -> Store:
        return PostgresStore.open(self.url, host=host, notes=self.notes)

    @property
    def where(self) -> str:
        return self.url

    def raw(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as db:
            cursor = db.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description is not None else []


class PostgresServer:
    """The server the PostgreSQL tests use: a database for each test, made
    and dropped by a thread of its own (one administrative connection), so
    that the server prepares the next test's database and drops the last
    one's while a test runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="databases")
        self._spare = self._worker.submit(self._create)
        self._drops: list[Future[None]] = []

    def create(self) -> str:
        """A new, empty database; its URL."""
        url = self._spare.result()
        self._spare = self._worker.submit(self._create)
        return url

    def drop(self, url: str) -> None:
        """Drop a database made by `create` (soon), ending its connections first."""
        self._drops.append(self._worker.submit(self._drop, url))

    def close(self) -> None:
        """Drop what is left, then close the connection; a drop that failed is raised."""
        self.drop(self._spare.result())
        self._worker.shutdown(wait=True)
        self._admin.close()
        for dropped in self._drops:
            dropped.result()

    def _create(self) -> str:
        name = f"pycron_t_{secrets.token_hex(6)}"
        # Copied as files (since PostgreSQL 15 the default copies through the
        # write-ahead log, which takes several times as long for a small database).
        files = " STRATEGY FILE_COPY" if self._admin.info.server_version >= 150000 else ""
        self._admin.execute(f"CREATE DATABASE {name}{files}")
        # A test's commits need not outlive a crash of the server: not waiting
        # for each to reach the disk makes the many small transactions quick.
        self._admin.execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
        return f"{self.url.rsplit('/', 1)[0]}/{name}"

    def _drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# Opens the store of a `Backend.where` in a child process (`kind` is its name).
CHILD_OPEN = """
def open_store(kind, where, **options):
    if kind == "sqlite":
        from pycron.store.sqlite import SQLiteStore
        return SQLiteStore.open(Path(where), **options)
    from pycron.store.postgresql import PostgresStore
    return PostgresStore.open(where, **options)
"""
