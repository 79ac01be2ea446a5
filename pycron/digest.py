"""SHA-256 digests without OpenSSL.

Job ids, the names of odd job directories and the outbox's target keys are
SHA-256 digests. `hashlib` makes them through OpenSSL, whose library adds
about 3.5 MiB to a process that loads it, more than the daemon's jobs take;
the interpreter's own SHA-256 module gives the same digests at no such cost.
Builds without that module (some distributions hash through OpenSSL only)
get `hashlib`'s.
"""

from __future__ import annotations

import importlib
from typing import Any


def _sha256() -> Any:
    """The SHA-256 constructor of the interpreter's own module (`_sha2` since
    Python 3.12, `_sha256` before), else hashlib's."""
    for name in ("_sha2", "_sha256"):
        try:
            return importlib.import_module(name).sha256
        except ImportError:
            continue
    import hashlib  # noqa: PLC0415 - only where the interpreter has no module of its own

    return hashlib.sha256


_SHA256 = _sha256()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 digest of `data`, in hexadecimal."""
    digest: str = _SHA256(data).hexdigest()
    return digest


def sha256_bytes(data: bytes) -> bytes:
    """The SHA-256 digest of `data`."""
    digest: bytes = _SHA256(data).digest()
    return digest
