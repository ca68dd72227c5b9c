"""What the pages need to know to open the stream."""

from django.conf import settings


def stream_config() -> dict:
    """{"enabled", "url", "port"}: a full URL, else a port on the page's host, else the page's origin."""
    url = settings.IMAGEGEN_STREAM_URL
    if url == "off":
        return {"enabled": False, "url": "", "port": None}
    return {"enabled": True, "url": url, "port": settings.IMAGEGEN_STREAM_PORT or None}
