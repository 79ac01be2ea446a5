"""pycron: a crontab-compatible cron tool.

The public API is the expression engine and its errors.
"""

from pycron.errors import (
    CronSyntaxError,
    NoMatchError,
    PycronError,
    UnknownTimeZoneError,
    UsageError,
)
from pycron.expr import CronExpression

__version__ = "0.1.0"

__all__ = [
    "CronExpression",
    "CronSyntaxError",
    "NoMatchError",
    "PycronError",
    "UnknownTimeZoneError",
    "UsageError",
    "__version__",
]
