"""The API kit every /api/v1 view uses: the error envelope, parsers, fields, pagination, throttling,
client identity, the browser CSRF check and OpenAPI helpers."""
