#!/bin/sh
# The container's roles. Each ends in `exec`, so the server is PID 1 and receives the stop signal itself:
# qcluster deadlocks when SIGTERM reaches its whole process group (django-q2 #346); the worker's supervisor
# sends it to the qcluster's main process only.
set -eu
role="${1:-web}"
case "$role" in
  web)
    # The database may still be starting (compose tools that do not wait for its healthcheck): try for a minute.
    tries=0
    until python manage.py migrate --noinput -v 0; do
      tries=$((tries + 1))
      [ "$tries" -lt 30 ] || exit 1
      sleep 2
    done
    python manage.py createcachetable
    # Publish this image's static files where nginx serves them (a shared volume).
    if [ -n "${PUBLISH_STATIC_TO:-}" ]; then cp -a "$IMAGEGEN_STATIC_ROOT/." "$PUBLISH_STATIC_TO/"; fi
    # Pages, API, the WebSocket /api/v1/generate/stream and the event streams, on one port (imagegen.asgi).
    exec python -m uvicorn imagegen.asgi:application --host "$HOST" --port "$PORT" \
      --workers "${WEB_CONCURRENCY:-2}" --no-proxy-headers --ws-max-size 65536 \
      --timeout-graceful-shutdown 10 --no-access-log
    ;;
  worker)
    # The supervisor (generation/supervisor.py) runs the qcluster and replaces it when it stalls: compose
    # does not restart an unhealthy container, so supervision cannot be left to it.
    exec python manage.py serve --no-web --stop-timeout 110
    ;;
  manage)
    shift
    exec python manage.py "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
