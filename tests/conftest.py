"""Shared test configuration: hypothesis profiles.

`ci` is deterministic (derandomized, failing examples printed as blobs) so that a CI run
is reproducible; `dev` draws fresh examples each run. The `CI` environment variable picks
the profile.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=200, print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile("ci" if "CI" in os.environ else "dev")
