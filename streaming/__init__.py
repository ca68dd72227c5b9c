"""Real-time push of task state: the WebSocket /api/v1/generate/stream and the server-sent events of
GET /api/v1/task/{task_id}/events, served on the main address by imagegen.asgi (which hands every other request to
the WSGI app).

One watcher per process reads every watched task in one indexed query per tick and fans changes out to
the subscribers; the number of database reads does not grow with the number of clients."""
