"""What the pages need to know to open the stream."""

from django.conf import settings


def stream_config() -> dict:
    """{"enabled", "url"}: a full URL, else the page's own origin (empty url)."""
    url = settings.IMAGEGEN_STREAM_URL
    if url == "off":
        return {"enabled": False, "url": ""}
    return {"enabled": True, "url": url}
