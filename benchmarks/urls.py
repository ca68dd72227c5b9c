from functools import lru_cache

from django.http import HttpResponse
from django.urls import path

from imagegen.urls import urlpatterns as app_patterns


@lru_cache(maxsize=8)
def _body(size: int) -> bytes:
    return b'{"pad":"' + b"x" * max(0, size - 10) + b'"}'


def bare(request):
    """The reference: same server and middleware, no API work, a JSON body of the size asked for."""
    return HttpResponse(_body(int(request.GET.get("size", "1500"))), content_type="application/json")


urlpatterns = [path("bench/bare", bare), *app_patterns]
