#!/bin/sh
# The container's roles. Each ends in `exec`, so the server is PID 1 and receives the stop signal itself:
# qcluster deadlocks when SIGTERM reaches its whole process group (django-q2 #346).
set -eu
role="${1:-web}"
case "$role" in
  web)
    python manage.py migrate --noinput -v 0
    python manage.py createcachetable
    # Publish this image's static files where nginx serves them (a shared volume).
    if [ -n "${PUBLISH_STATIC_TO:-}" ]; then cp -a "$IMAGEGEN_STATIC_ROOT/." "$PUBLISH_STATIC_TO/"; fi
    exec python -m gunicorn imagegen.wsgi:application --bind "$HOST:$PORT" \
      --worker-class gthread --workers "${WEB_CONCURRENCY:-2}" --threads 4 \
      --timeout 60 --graceful-timeout 20 --access-logfile - --forwarded-allow-ips "*"
    ;;
  stream)
    # The WebSocket and server-sent events (imagegen.streaming.asgi), behind nginx's routing of their two paths.
    exec python -m uvicorn imagegen.streaming.asgi:application --host "$HOST" --port "${STREAM_PORT:-8001}" \
      --no-proxy-headers --ws-max-size 65536 --timeout-graceful-shutdown 5 --no-access-log
    ;;
  worker)
    exec python manage.py qcluster
    ;;
  manage)
    shift
    exec python manage.py "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
