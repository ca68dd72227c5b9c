"""Image helpers for generated results: validation, thumbnails and A1111-style PNG metadata.

Pure Pillow + stdlib, so the worker, the engines and the tests can use them without Django.

Every function that reads untrusted bytes turns Pillow's many exception types (and its warnings) into one
`ImageDataError` with a short English reason, so callers have a single thing to catch and store.
"""

from __future__ import annotations

import io
import json
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageOps

DEFAULT_MAX_PIXELS = 64_000_000

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PARAMETERS_KEY = b"parameters"
# Same ceiling Pillow uses for text chunks (PngImagePlugin.MAX_TEXT_CHUNK): a compressed zTXt/iTXt chunk
# must not be able to inflate into gigabytes.
MAX_TEXT_BYTES = 1024 * 1024

# format -> (mime, file extension, Pillow format name)
_FORMATS: dict[str, tuple[str, str, str]] = {
    "png": ("image/png", "png", "PNG"),
    "jpeg": ("image/jpeg", "jpg", "JPEG"),
    "webp": ("image/webp", "webp", "WEBP"),
}


class ImageDataError(Exception):
    """The bytes are not a usable image. `message` is a short English reason, safe to show and store."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "png" | "jpeg" | "webp"
    mime: str  # "image/png" ...
    extension: str  # "png" | "jpg" | "webp"
    width: int
    height: int


# --------------------------------------------------------------------------------------------------------
# Format sniffing and validation
# --------------------------------------------------------------------------------------------------------


def sniff_format(data: bytes) -> str | None:
    """The format by magic bytes only (no parsing): "png", "jpeg", "webp", "gif" or None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def inspect_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Check that `data` is a complete, decodable PNG/JPEG/WebP and describe it.

    The pixel count is checked from the header before anything is decoded, and the image is then fully
    decoded, because a truncated download usually still has a valid header.
    """
    fmt = _supported_format(data)
    with _pillow_errors():
        with _open(data, fmt, max_pixels) as im:
            im.load()
            width, height = im.size
    mime, extension, _ = _FORMATS[fmt]
    return ImageInfo(format=fmt, mime=mime, extension=extension, width=width, height=height)


def _supported_format(data: bytes) -> str:
    fmt = sniff_format(data)
    if fmt in _FORMATS:
        return fmt
    if fmt is not None:
        raise ImageDataError(f"unsupported image format: {fmt.upper()}")
    raise ImageDataError("not an image")


def _open(data: bytes, fmt: str, max_pixels: int) -> Image.Image:
    """Image.open restricted to `fmt`, refusing oversized images before any pixel buffer exists."""
    # PNG and WebP sizes are read by hand first: Pillow's WebP plugin creates a libwebp decoder (which
    # allocates the canvas) inside Image.open, and a PNG that lost its IEND still loads "fine" in Pillow.
    if fmt == "png":
        _check_size(*_png_size(data), max_pixels)
        _check_png_complete(data)
    elif fmt == "webp":
        _check_size(*_webp_size(data), max_pixels)
    im = Image.open(io.BytesIO(data), formats=[_FORMATS[fmt][2]])
    try:
        # JPEG's Image.open only parses markers, so its header size is safe to check here.
        _check_size(*im.size, max_pixels)
    except ImageDataError:
        im.close()
        raise
    return im


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageDataError("corrupt image data")
    if width * height > max_pixels:
        raise ImageDataError("image too large (decompression bomb)")


@contextmanager
def _pillow_errors() -> Iterator[None]:
    """Map every failure while Pillow reads untrusted bytes to ImageDataError; keep its warnings in.

    Exceptions are caught broadly on purpose: decoders fed hostile input have raised everything from
    SyntaxError to ZeroDivisionError over the years; the cause stays chained for the logs. Warnings are
    silenced: the one that matters (DecompressionBombWarning) is covered by our own, stricter pixel limit.
    warnings.catch_warnings swaps a process-global filter list, which is fine in process-based workers.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        except ImageDataError:
            raise
        except Image.DecompressionBombError as exc:
            raise ImageDataError("image too large (decompression bomb)") from exc
        except Image.UnidentifiedImageError as exc:
            raise ImageDataError("not an image") from exc
        except Exception as exc:
            if isinstance(exc, (EOFError, struct.error)) or "truncated" in str(exc).lower():
                raise ImageDataError("truncated image data") from exc
            raise ImageDataError("corrupt image data") from exc


def _webp_size(data: bytes) -> tuple[int, int]:
    """Canvas size from the RIFF header (simple lossy, lossless or extended WebP)."""
    if len(data) < 30:
        raise ImageDataError("truncated image data")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 > len(data):
        raise ImageDataError("truncated image data")
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
    elif chunk == b"VP8L":
        (bits,) = struct.unpack_from("<I", data, 21)
        width = 1 + (bits & 0x3FFF)
        height = 1 + ((bits >> 14) & 0x3FFF)
    elif chunk == b"VP8 ":
        width, height = struct.unpack_from("<HH", data, 26)
        width, height = width & 0x3FFF, height & 0x3FFF
    else:
        raise ImageDataError("corrupt image data")
    return width, height


# --------------------------------------------------------------------------------------------------------
# Thumbnails
# --------------------------------------------------------------------------------------------------------

# Modes that resize badly (palette images are resized with NEAREST) or that WebP cannot store: convert
# these before thumbnail(). They never come from JPEG, so nothing is lost from the draft() fast path.
_CONVERT_FIRST = {"1", "P", "PA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


def make_thumbnail(data: bytes, *, max_side: int = 384, quality: int = 80) -> tuple[bytes, int, int]:
    """A WebP thumbnail no larger than max_side x max_side, and its width and height. Never upscales."""
    fmt = _supported_format(data)
    with _pillow_errors():
        with _open(data, fmt, DEFAULT_MAX_PIXELS) as im:
            target = "RGBA" if _has_alpha(im) else "RGB"
            if im.mode in _CONVERT_FIRST or "transparency" in im.info:
                im = im.convert(target)
            # thumbnail() straight after open lets JPEG decode at 1/2..1/8 scale (draft) - ~10x faster.
            im.thumbnail((max_side, max_side))
            # Orientation after the resize still works (Pillow keeps the EXIF) and touches far fewer pixels.
            im = ImageOps.exif_transpose(im)
            if im.mode != target:
                im = im.convert(target)
            out = io.BytesIO()
            # method 2: a third of method 4's encode time for thumbnails within ~2 % of its size (measured).
            im.save(out, "WEBP", quality=quality, method=2)
            return out.getvalue(), im.width, im.height


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in _ALPHA_MODES or "transparency" in im.info


# --------------------------------------------------------------------------------------------------------
# AUTOMATIC1111 "parameters" metadata
# --------------------------------------------------------------------------------------------------------

# A1111's infotext parser only recognises keys made of word characters, spaces, dashes and slashes.
_A1111_KEY = re.compile(r"\w[\w \-/]+")


def a1111_parameters(
    *,
    prompt: str,
    negative_prompt: str | None,
    steps: int | None,
    scale: float | None,
    seed: int,
    width: int,
    height: int,
    model: str,
    extra: dict[str, str] | None = None,
) -> str:
    """The AUTOMATIC1111 "parameters" text, which A1111, ComfyUI, Civitai and others read back."""
    params: dict[str, object] = {
        "Steps": steps,
        "CFG scale": None if scale is None else f"{scale:g}",
        "Seed": seed,
        "Size": f"{width}x{height}",
        "Model": model,
    }
    for key, value in (extra or {}).items():
        if not _A1111_KEY.fullmatch(key):
            raise ValueError(f"not an A1111 parameter name: {key!r}")
        params[key] = value
    line = ", ".join(f"{key}: {_a1111_quote(str(value))}" for key, value in params.items() if value is not None)
    parts = [prompt]
    if negative_prompt:
        parts.append(f"Negative prompt: {negative_prompt}")
    parts.append(line)
    return "\n".join(parts)


def _a1111_quote(value: str) -> str:
    # A1111 (modules/infotext_utils.py quote()) JSON-quotes values containing ",", ":" or a newline, since
    # those would break its "Key: value, Key: value" parser; a '"' would make the parser take the value for a
    # quoted one, so it is quoted too.
    if any(ch in value for ch in ',:\n"'):
        return json.dumps(value, ensure_ascii=False)
    return value


# --------------------------------------------------------------------------------------------------------
# PNG text chunks, spliced without re-encoding
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    start: int  # offset of the length field
    end: int  # offset just after the CRC
    data_start: int

    def payload(self, data: bytes) -> bytes:
        return data[self.data_start : self.end - 4]


def _png_chunks(data: bytes) -> Iterator[_Chunk]:
    """Walk the chunks of a PNG up to and including IEND; raise on truncation."""
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise ImageDataError("truncated image data")
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise ImageDataError("truncated image data")
        yield _Chunk(ctype, pos, end, pos + 8)
        if ctype == b"IEND":
            return
        pos = end


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from IHDR, which the PNG spec requires to be the first chunk."""
    if len(data) < 33:
        raise ImageDataError("truncated image data")
    if data[12:16] != b"IHDR":
        raise ImageDataError("corrupt image data")
    return struct.unpack_from(">II", data, 16)


def _check_png_complete(data: bytes) -> None:
    # Walks to IEND or raises: Pillow itself accepts a PNG cut off just before IEND.
    for _ in _png_chunks(data):
        pass


def _make_chunk(ctype: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(ctype + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)


def _parameters_chunk(text: str) -> bytes:
    try:
        return _make_chunk(b"tEXt", PARAMETERS_KEY + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:
        # tEXt is Latin-1 only; iTXt carries UTF-8: keyword, compression flag 0 + method 0, empty language
        # tag and translated keyword, then the text.
        return _make_chunk(b"iTXt", PARAMETERS_KEY + b"\0\0\0\0\0" + text.encode("utf-8"))


def embed_png_parameters(data: bytes, text: str) -> bytes:
    """The same PNG with a "parameters" text chunk right after IHDR, replacing any previous one.

    Pixels (IDAT) are copied byte for byte, so this is cheap and lossless.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise ImageDataError("not a PNG image")
    pieces = [data[: len(PNG_SIGNATURE)]]
    tail = b""
    for index, chunk in enumerate(_png_chunks(data)):
        if index == 0:
            if chunk.type != b"IHDR":
                raise ImageDataError("corrupt image data")
            pieces += [data[chunk.start : chunk.end], _parameters_chunk(text)]
        elif _text_key(chunk, data) != PARAMETERS_KEY:
            pieces.append(data[chunk.start : chunk.end])
        if chunk.type == b"IEND":
            tail = data[chunk.end :]  # keep trailing bytes as they were; we are not a PNG linter
    return b"".join(pieces) + tail


def strip_png_text(data: bytes) -> bytes:
    """The same PNG without its text chunks (tEXt, zTXt, iTXt): no prompt or other settings travel with it.
    Anything that is not a PNG comes back as it is (JPEG and WebP results carry no parameters)."""
    if not data.startswith(PNG_SIGNATURE):
        return data
    pieces = [data[: len(PNG_SIGNATURE)]]
    for chunk in _png_chunks(data):
        if chunk.type not in (b"tEXt", b"zTXt", b"iTXt"):
            pieces.append(data[chunk.start : chunk.end])
    return b"".join(pieces)


def read_png_parameters(data: bytes) -> str | None:
    """The "parameters" text of a PNG (tEXt, zTXt or iTXt), or None if absent or not a PNG."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    try:
        for chunk in _png_chunks(data):
            if _text_key(chunk, data) == PARAMETERS_KEY:
                return _decode_text(chunk.type, chunk.payload(data))
    except ImageDataError:
        return None
    return None


def _text_key(chunk: _Chunk, data: bytes) -> bytes | None:
    if chunk.type not in (b"tEXt", b"zTXt", b"iTXt"):
        return None
    # Keywords are 1-79 bytes; look no further so a huge chunk is not copied just to read its key.
    head = data[chunk.data_start : min(chunk.end - 4, chunk.data_start + 80)]
    return head.split(b"\0", 1)[0]


def _decode_text(ctype: bytes, payload: bytes) -> str | None:
    _, _, rest = payload.partition(b"\0")
    if ctype == b"tEXt":
        return rest.decode("latin-1")
    if ctype == b"zTXt":  # compression method byte, then zlib data
        return _inflate(rest[1:]).decode("latin-1")
    # iTXt: compression flag, method, language tag\0, translated keyword\0, text
    if len(rest) < 2:
        return None
    compressed = rest[0] == 1
    _lang, _, rest = rest[2:].partition(b"\0")
    _translated, _, body = rest.partition(b"\0")
    if compressed:
        body = _inflate(body)
    return body.decode("utf-8", errors="replace")


def _inflate(body: bytes) -> bytes:
    try:
        inflater = zlib.decompressobj()
        out = inflater.decompress(body, MAX_TEXT_BYTES)
    except zlib.error as exc:
        raise ImageDataError("corrupt image data") from exc
    if inflater.unconsumed_tail:
        raise ImageDataError("text chunk too large")
    return out
