"""The floor: what every app builds on and which imports no project package (`.importlinter`).

Errors and the one error path, the API kit (parsers, pagination, throttling, client id, CSRF, OpenAPI
helpers), logs, metric counters, the cache backend, the access mode and the version."""
