"""The status page, its JSON API and Prometheus metrics, served over HTTP
(the optional `web` extra: Starlette, uvicorn, Jinja2, prometheus_client).

`pycron.web.source` is what they all read, `pycron.web.app` builds the
application, `pycron.web.server` serves it from a thread of the daemon (or of
`pycron web`). Nothing outside this package imports it at module level, so a
pycron without the extra, and a daemon without `--http`, never load it.
"""
