"""Request-rate limits: django-ratelimit's counter behind DRF's throttle interface, so an exceeded limit
is a JSON 429 with Retry-After (a bare @ratelimit on a DRF view would be a 403)."""

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

from .clients import client_id


def _client_key(group, request):
    return client_id(request)


class RateThrottle(BaseThrottle):
    group = "api.read"
    setting = "IMAGEGEN_READ_RATE"

    def allow_request(self, request, view):
        if not settings.RATELIMIT_ENABLE:
            return True
        usage = get_usage(
            request, group=self.group, key=_client_key, rate=getattr(settings, self.setting), increment=True
        )
        if usage is None:
            return True
        # At a window edge time_left can be 0; DRF only sends Retry-After for a truthy wait.
        self._wait = max(1, usage["time_left"])
        return not usage["should_limit"]

    def wait(self):
        return getattr(self, "_wait", 1)


class ReadThrottle(RateThrottle):
    pass


class CreateThrottle(RateThrottle):
    group = "api.create"
    setting = "IMAGEGEN_CREATE_RATE"
