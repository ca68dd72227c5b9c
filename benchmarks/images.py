"""Thumbnail speed on 2048×2048 originals, and image responses streaming without reading whole files.
Prints one JSON line."""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from generation.engines.preview import render_image  # noqa: E402
from generation.imaging import make_thumbnail  # noqa: E402


def original(fmt: str) -> bytes:
    """A realistic 2048² picture (the preview engine's, which has gradients and detail)."""
    picture = render_image("benchmark", 7, 2048, 2048, "bench").convert("RGB")
    buffer = io.BytesIO()
    if fmt == "png":
        picture.save(buffer, "PNG")  # default compression, as a service would send it
    else:
        picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def timed(fn, runs: int = 15) -> float:
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def streaming_peak(size_mb: int = 32) -> tuple[int, int]:
    """Peak Python memory while a FileResponse of a big file is consumed in the WSGI way."""
    import os
    import tempfile

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagegen.settings")
    os.environ.setdefault("IMAGEGEN_DATA_DIR", tempfile.mkdtemp())
    import django

    django.setup()
    from django.http import FileResponse

    path = Path(tempfile.mkdtemp()) / "big.png"
    path.write_bytes(os.urandom(size_mb * 1024 * 1024))
    tracemalloc.start()
    response = FileResponse(open(path, "rb"), content_type="image/png")
    consumed = sum(len(chunk) for chunk in response.streaming_content)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return consumed, peak


def main() -> None:
    jpeg, png = original("jpeg"), original("png")
    consumed, peak = streaming_peak()
    out = {
        "jpeg_ms": round(timed(lambda: make_thumbnail(jpeg)), 1),
        "png_ms": round(timed(lambda: make_thumbnail(png)), 1),
        "jpeg_bytes": len(jpeg),
        "png_bytes": len(png),
        "stream_file_mb": consumed // 2**20,
        "stream_peak_kb": peak // 1024,
    }
    out["pass"] = out["jpeg_ms"] <= 30 and out["png_ms"] <= 80 and peak < 4 * 2**20
    print(json.dumps(out))


if __name__ == "__main__":
    main()
