"""Candidate A of benchmarks/serving.py: Django's own ASGI handler for everything (sync views run through
sync_to_async)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
