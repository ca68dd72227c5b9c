"""The stream process: `uvicorn imagegen.streaming.asgi:application` (manage.py serve starts it on PORT+1; nginx
routes /api/v1/generate/stream and /api/v1/task/*/events to it in production).

WebSocket: the stream consumer, behind an Origin check (cross-site WebSocket hijacking). HTTP: Django's
ASGI app, for the server-sent events view (everything else stays on the WSGI server)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagegen.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from .consumers import StreamConsumer  # noqa: E402
from .security import OriginCheck, only_path  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_app,
    "websocket": OriginCheck(only_path("/api/v1/generate/stream", StreamConsumer.as_asgi())),
})
