"""The offline preview engine: synthetic, deterministic images with a simulated latency.

Used for demos, development, benchmarks and tests. The same (prompt, seed, size, model) always gives the
same pixels, so a preview result can be reproduced from its recorded seed exactly like a real one, and
every image says PREVIEW on it so it is never mistaken for a generated picture.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
import time

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .base import Cancelled, EngineRequest, EngineResult, Progress

MAX_SEED = 2147483647
# Composition happens at this size and is then scaled up once: drawing and blurring at full resolution
# would cost seconds at 4096x4096, while the image is deliberately soft anyway.
WORK_SIDE = 256
SLEEP_SLICE = 0.25  # longest single sleep, so cancellation is noticed quickly
QUEUE_SHARE = 0.2  # part of the latency spent "queued upstream", the rest "generating"
# Promised to the caller (progress.extend) on top of each sleep / for each render, in seconds.
SLEEP_GRACE = 5.0
RENDER_BUDGET = 30.0


class PreviewEngine:
    name = "preview"
    label = "Preview (offline)"
    is_preview = True

    def __init__(self, latency: float = 0.0):
        self.latency = max(0.0, float(latency))

    def check(self) -> dict:
        return {"ok": True, "detail": "offline preview engine: images are synthetic"}

    def generate(self, request: EngineRequest, progress: Progress) -> EngineResult:
        progress.stage("queued_upstream", fraction=0.0)
        self._sleep(self.latency * QUEUE_SHARE, progress)

        # The "generating" fraction counts sleep slices and rendered images as equal steps.
        slices = _slices(self.latency * (1 - QUEUE_SHARE))
        steps = len(slices) + request.num_images
        done = 0
        progress.stage("generating", fraction=0.0)
        for seconds in slices:
            self._sleep(seconds, progress)
            done += 1
            progress.stage("generating", fraction=done / steps)

        images = []
        for index in range(request.num_images):
            _raise_if_cancelled(progress)
            progress.extend(RENDER_BUDGET)
            images.append(render_png(request, image_seed(request.seed, index)))
            done += 1
            progress.stage("generating", fraction=done / steps)
        _raise_if_cancelled(progress)
        return EngineResult(
            images=images,
            upstream_request_id="preview-" + _request_id(request),
            images_billed=0,  # synthetic images: no service was asked, nothing billed
            extra={"engine": "preview"},
        )

    def _sleep(self, seconds: float, progress: Progress) -> None:
        for piece in _slices(seconds):
            _raise_if_cancelled(progress)
            progress.extend(piece + SLEEP_GRACE)
            time.sleep(piece)
        _raise_if_cancelled(progress)


def image_seed(seed: int, index: int) -> int:
    """Image `index` of a request uses seed + index, wrapping past MAX_SEED back to 0."""
    return (seed + index) % (MAX_SEED + 1)


def _slices(seconds: float) -> list[float]:
    if seconds <= 0:
        return []
    count = math.ceil(seconds / SLEEP_SLICE)
    return [seconds / count] * count


def _raise_if_cancelled(progress: Progress) -> None:
    if progress.cancelled():
        raise Cancelled()


def _request_id(request: EngineRequest) -> str:
    key = f"{request.model}\0{request.prompt}\0{request.seed}\0{request.width}x{request.height}\0{request.num_images}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------


def render_png(request: EngineRequest, seed: int) -> bytes:
    """PNG bytes of exactly request.width x request.height (the output size, even with use_sr)."""
    image = render_image(request.prompt, seed, request.width, request.height, request.model)
    out = io.BytesIO()
    # Level 1: encoding dominates at large sizes and these images are throwaway.
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def render_image(prompt: str, seed: int, width: int, height: int, model: str) -> Image.Image:
    rng = random.Random(_digest(prompt, seed, width, height, model))
    work = _compose(rng, *_work_size(width, height))
    image = work.resize((width, height), Image.Resampling.BICUBIC)
    _draw_label(image, prompt, seed)
    return image


def _digest(prompt: str, seed: int, width: int, height: int, model: str) -> bytes:
    # sha256 rather than hash(): str hashes are salted per process, and previews must be stable across runs.
    return hashlib.sha256(f"{model}\0{seed}\0{width}x{height}\0{prompt}".encode()).digest()


def _work_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, WORK_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _palette(rng: random.Random) -> list[tuple[int, int, int]]:
    """A few related colours around a random hue, so images look designed rather than noisy."""
    base = rng.random()
    colours = []
    for _ in range(5):
        hue = (base + rng.uniform(-0.15, 0.15)) % 1.0
        r, g, b = colorsys.hls_to_rgb(hue, rng.uniform(0.25, 0.75), rng.uniform(0.4, 0.9))
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def _compose(rng: random.Random, width: int, height: int) -> Image.Image:
    palette = _palette(rng)
    # A tiny random colour grid, scaled up smoothly, gives the background gradient.
    grid_w, grid_h = rng.randint(3, 6), rng.randint(3, 6)
    grid = Image.new("RGB", (grid_w, grid_h))
    grid.putdata([rng.choice(palette) for _ in range(grid_w * grid_h)])
    work = grid.resize((width, height), Image.Resampling.BICUBIC)

    draw = ImageDraw.Draw(work, "RGBA")  # RGBA drawing blends translucent shapes onto the RGB image
    side = min(width, height)
    for _ in range(rng.randint(4, 8)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.08, 0.35) * side
        colour = (*rng.choice(palette), rng.randint(70, 160))
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        if rng.random() < 0.7:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    return work.filter(ImageFilter.GaussianBlur(radius=max(1.0, side / 50)))


def _draw_label(image: Image.Image, prompt: str, seed: int) -> None:
    """Draw "PREVIEW" plus the seed and the first words of the prompt, bottom left, on a translucent band."""
    size = max(10, min(image.width, image.height) // 40)
    font = ImageFont.load_default(size=size)
    lines = [f"PREVIEW  seed {seed}"]
    words = _caption(prompt)
    if words:
        lines.append(_fit(words, font, image.width - 3 * size))
    text = "\n".join(lines)
    draw = ImageDraw.Draw(image, "RGBA")
    left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font)
    margin = size // 2
    x = margin
    y = image.height - (bottom - top) - 3 * margin
    draw.rectangle((x, y, x + right - left + 2 * margin, y + bottom - top + 2 * margin), fill=(0, 0, 0, 140))
    draw.multiline_text((x + margin - left, y + margin - top), text, font=font, fill=(255, 255, 255, 230))


def _caption(prompt: str, max_words: int = 8) -> str:
    # The bundled default font only covers Latin-1 (and the bitmap fallback cannot even encode more), so a
    # prompt with other scripts - Chinese, typically - is left off rather than drawn as boxes.
    words = prompt.split()[:max_words]
    text = " ".join(words).rstrip(",;")
    if not text or not all(ch.isprintable() and ord(ch) < 256 for ch in text):
        return ""
    return text


def _fit(text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, max_width: float) -> str:
    """Shorten `text` with an ellipsis until it fits in max_width pixels."""
    if font.getlength(text) <= max_width:
        return text
    while text and font.getlength(text + "...") > max_width:
        text = text[:-1]
    return text.rstrip() + "..." if text else ""
