import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagegen.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

from imagegen import startup  # noqa: E402

startup.point_counters_at_the_metrics_dir()
application = get_wsgi_application()
