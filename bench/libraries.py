"""The libraries under test behind one small interface.

Each library gives, for one expression, four kinds of callable:

- `next_fn()`: start -> first firing after it, on an expression prepared once
  (the fastest public way each library has for an arbitrary start);
- `parse_next_fn()`: the same, but parsing the expression on every call;
- `parse_fn()`: start -> the library's object for the expression, built anew
  (the constructor alone; croniter and cronsim bind the start in it);
- `iterator(start)`: a zero-argument callable returning the next firing of
  one iterator started at `start`.

Every callable is a plain closure, so the call overhead the timing loop adds
is the same for all libraries. Libraries are imported when first used, so a
missing peer is reported instead of stopping the benchmark.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from importlib import metadata
from typing import Any

NextFn = Callable[[datetime], datetime]
ParseFn = Callable[[datetime], object]
StepFn = Callable[[], datetime]

# Any start will do to find out whether cronsim accepts an expression: it parses
# in its constructor, which also binds the start.
_PROBE_START = datetime(2026, 1, 1)


class Unsupported(Exception):
    """The library rejects the expression when parsing it."""


class Prepared:
    """One expression as one library holds it; see the module docstring."""

    def next_fn(self) -> NextFn:
        """start -> next firing, on the expression prepared once."""
        raise NotImplementedError

    def parse_next_fn(self) -> NextFn:
        """start -> next firing, parsing the expression each time."""
        raise NotImplementedError

    def parse_fn(self) -> ParseFn:
        """start -> a new object for the expression (the constructor alone)."""
        raise NotImplementedError

    def iterator(self, start: datetime) -> StepFn:
        """A new iterator from `start`, as a callable giving its next item."""
        raise NotImplementedError


class Library:
    """A library under test: its name, version and how to prepare an expression."""

    name = ""
    distribution = ""
    module_name = ""

    def __init__(self) -> None:
        self.module: Any = importlib.import_module(self.module_name)

    @property
    def version(self) -> str:
        """The installed distribution's version ("?" when metadata is missing)."""
        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            return "?"

    def prepare(self, text: str) -> Prepared:
        """Parse `text` once; raise Unsupported if the library rejects it."""
        raise NotImplementedError


# --------------------------------------------------------------------------- pycron


class _PycronPrepared(Prepared):
    def __init__(self, cls: Any, text: str) -> None:
        self.cls = cls
        self.text = text
        self.expr = cls(text)

    def next_fn(self) -> NextFn:
        expr = self.expr

        def call(start: datetime) -> datetime:
            return expr.next(start)

        return call

    def parse_next_fn(self) -> NextFn:
        cls, text = self.cls, self.text

        def call(start: datetime) -> datetime:
            return cls(text).next(start)

        return call

    def parse_fn(self) -> ParseFn:
        cls, text = self.cls, self.text

        def build(_start: datetime) -> object:
            return cls(text)

        return build

    def iterator(self, start: datetime) -> StepFn:
        items = self.expr.iter(start)

        def step() -> datetime:
            return next(items)

        return step


class Pycron(Library):
    """pycron: `CronExpression(text)` (no schedule zone: aware starts are
    evaluated in their own zone, as the peers do), `.next`, `.iter`."""

    name = "pycron"
    distribution = "pycron-cli"
    module_name = "pycron"

    def prepare(self, text: str) -> Prepared:
        return _PycronPrepared(self.module.CronExpression, text)


# --------------------------------------------------------------------------- croniter


class _CroniterPrepared(Prepared):
    def __init__(self, cls: Any, text: str) -> None:
        self.cls = cls
        self.text = text
        self.base = cls(text, _PROBE_START, ret_type=datetime)

    def next_fn(self) -> NextFn:
        # get_next(ret_type, start_time) does set_current(start_time, force=True)
        # and then the search: the same work as the two calls, one call fewer.
        get_next = self.base.get_next

        def call(start: datetime) -> datetime:
            return get_next(datetime, start)

        return call

    def parse_next_fn(self) -> NextFn:
        cls, text = self.cls, self.text

        def call(start: datetime) -> datetime:
            return cls(text, start, ret_type=datetime).get_next(datetime)

        return call

    def parse_fn(self) -> ParseFn:
        cls, text = self.cls, self.text

        def build(start: datetime) -> object:
            return cls(text, start, ret_type=datetime)

        return build

    def iterator(self, start: datetime) -> StepFn:
        get_next = self.cls(self.text, start, ret_type=datetime).get_next

        def step() -> datetime:
            return get_next(datetime)

        return step


class Croniter(Library):
    """croniter: a croniter object built once, `get_next(datetime, start)`."""

    name = "croniter"
    distribution = "croniter"
    module_name = "croniter"

    def prepare(self, text: str) -> Prepared:
        try:
            return _CroniterPrepared(self.module.croniter, text)
        except (ValueError, TypeError, KeyError, IndexError) as error:
            raise Unsupported(f"{type(error).__name__}: {error}") from error


# --------------------------------------------------------------------------- cronsim


class _CronsimPrepared(Prepared):
    def __init__(self, cls: Any, text: str) -> None:
        self.cls = cls
        self.text = text
        cls(text, _PROBE_START)

    def next_fn(self) -> NextFn:
        # CronSim binds the start in its constructor: there is no other way to
        # ask for the first firing after an arbitrary start.
        cls, text = self.cls, self.text

        def call(start: datetime) -> datetime:
            return next(cls(text, start))

        return call

    def parse_next_fn(self) -> NextFn:
        return self.next_fn()

    def parse_fn(self) -> ParseFn:
        cls, text = self.cls, self.text

        def build(start: datetime) -> object:
            return cls(text, start)

        return build

    def iterator(self, start: datetime) -> StepFn:
        items = self.cls(self.text, start)

        def step() -> datetime:
            return next(items)

        return step


class Cronsim(Library):
    """cronsim: `next(CronSim(text, start))`; an iterator is a CronSim object."""

    name = "cronsim"
    distribution = "cronsim"
    module_name = "cronsim"

    def prepare(self, text: str) -> Prepared:
        try:
            return _CronsimPrepared(self.module.CronSim, text)
        except (self.module.CronSimError, ValueError, KeyError, IndexError) as error:
            raise Unsupported(f"{type(error).__name__}: {error}") from error


PEER_CLASSES: tuple[type[Library], ...] = (Croniter, Cronsim)


def load_peers() -> tuple[list[Library], list[str]]:
    """The peers that import, and a note for each one that does not."""
    peers: list[Library] = []
    missing: list[str] = []
    for cls in PEER_CLASSES:
        try:
            peers.append(cls())
        except ImportError as error:
            missing.append(f"{cls.name}: not installed ({error}); `make bench` installs it")
    return peers, missing
