"""generation.imaging: validation, thumbnails and A1111 metadata. Pure Pillow; no database."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageChops

from generation.imaging import (
    ImageDataError,
    a1111_parameters,
    embed_png_parameters,
    inspect_image,
    make_thumbnail,
    read_png_parameters,
    sniff_format,
)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    return Image.linear_gradient("L").resize((width, height)).convert(mode)


def png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file whose header claims a huge image: decoding it would allocate width*height bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


PARAMS = "a cat, sitting\nNegative prompt: blurry\nSteps: 20, Seed: 1, Size: 64x64, Model: m"


# -- sniff_format / inspect_image ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("GIF", "gif"), ("BMP", None)],
)
def test_it_sniffs_the_format_from_magic_bytes(fmt, expected):
    assert sniff_format(encode(gradient(16, 16), fmt)) == expected


def test_it_does_not_sniff_text_as_an_image():
    assert sniff_format(b"<html>nope</html>") is None
    assert sniff_format(b"") is None


@pytest.mark.parametrize(
    ("fmt", "mime", "extension"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp")],
)
def test_it_describes_a_valid_image(fmt, mime, extension):
    info = inspect_image(encode(gradient(120, 80), fmt))
    assert (info.mime, info.extension, info.width, info.height) == (mime, extension, 120, 80)
    assert info.format == sniff_format(encode(gradient(8, 8), fmt))


def test_it_rejects_bytes_that_are_not_an_image():
    with pytest.raises(ImageDataError) as caught:
        inspect_image(b'{"error": "not found"}')
    assert caught.value.message == "not an image"


def test_it_names_an_unsupported_format():
    with pytest.raises(ImageDataError) as caught:
        inspect_image(encode(gradient(16, 16), "GIF"))
    assert caught.value.message == "unsupported image format: GIF"


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_it_rejects_truncated_png_data(keep):
    data = encode(gradient(300, 200), "PNG")
    with pytest.raises(ImageDataError) as caught:
        inspect_image(data[: int(len(data) * keep)])
    assert caught.value.message == "truncated image data"


def test_it_rejects_a_png_that_lost_only_its_end_chunk():
    # Pillow decodes this happily; an incomplete download must still be refused.
    data = encode(gradient(300, 200), "PNG")
    with pytest.raises(ImageDataError, match="truncated"):
        inspect_image(data[:-12])


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_it_rejects_truncated_jpeg_and_webp_data(fmt):
    data = encode(gradient(300, 200), fmt)
    with pytest.raises(ImageDataError) as caught:
        inspect_image(data[: len(data) // 2])
    assert caught.value.message == "truncated image data"


def test_it_rejects_a_valid_header_followed_by_garbage():
    data = encode(gradient(300, 200), "JPEG")
    with pytest.raises(ImageDataError):
        inspect_image(data[:400] + b"\x00" * 50 + data[450:600])


def test_it_refuses_a_decompression_bomb_without_decoding_it(monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a decompression bomb")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(Image, "open", no_decoding)
    with pytest.raises(ImageDataError) as caught:
        inspect_image(bomb_png(50_000, 50_000))
    assert caught.value.message == "image too large (decompression bomb)"


def test_it_refuses_a_jpeg_above_the_pixel_limit():
    with pytest.raises(ImageDataError, match="decompression bomb"):
        inspect_image(encode(gradient(200, 100), "JPEG"), max_pixels=10_000)


def test_it_refuses_a_webp_above_the_pixel_limit():
    with pytest.raises(ImageDataError, match="decompression bomb"):
        inspect_image(encode(gradient(200, 100), "WEBP"), max_pixels=10_000)


def test_it_turns_pillows_own_bomb_error_into_an_image_data_error():
    # Above twice Image.MAX_IMAGE_PIXELS Pillow raises by itself; with a generous limit of ours, that
    # DecompressionBombError must not escape.
    with pytest.raises(ImageDataError, match="decompression bomb"):
        inspect_image(bomb_png(20_000, 20_000), max_pixels=10**12)


def test_no_pillow_warning_escapes(recwarn):
    with pytest.raises(ImageDataError):
        # Between 1x and 2x Image.MAX_IMAGE_PIXELS, where Pillow warns instead of raising.
        inspect_image(bomb_png(9_500, 9_500), max_pixels=10**12)
    assert not recwarn.list


# -- make_thumbnail ----------------------------------------------------------------------------------------


def test_thumbnail_keeps_aspect_ratio_and_never_upscales():
    data, width, height = make_thumbnail(encode(gradient(1200, 600), "PNG"), max_side=300)
    assert (width, height) == (300, 150)
    assert Image.open(io.BytesIO(data)).size == (300, 150)

    _, width, height = make_thumbnail(encode(gradient(100, 40), "PNG"), max_side=300)
    assert (width, height) == (100, 40)


def test_thumbnail_is_webp():
    data, _, _ = make_thumbnail(encode(gradient(800, 800), "JPEG"))
    assert sniff_format(data) == "webp"
    assert Image.open(io.BytesIO(data)).size == (384, 384)


def test_thumbnail_keeps_transparency():
    image = gradient(400, 200, "RGBA")
    image.putalpha(Image.linear_gradient("L").resize((400, 200)))
    data, _, _ = make_thumbnail(encode(image, "PNG"))
    assert Image.open(io.BytesIO(data)).mode == "RGBA"


def test_thumbnail_of_an_opaque_image_has_no_alpha():
    data, _, _ = make_thumbnail(encode(gradient(400, 200), "PNG"))
    assert Image.open(io.BytesIO(data)).mode == "RGB"


def test_thumbnail_of_a_palette_png_works():
    data, width, height = make_thumbnail(encode(gradient(400, 200).convert("P"), "PNG"), max_side=100)
    assert (width, height) == (100, 50)


def test_thumbnail_follows_the_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    data, width, height = make_thumbnail(encode(gradient(400, 200), "JPEG", exif=exif), max_side=100)
    assert (width, height) == (50, 100)


def test_thumbnail_rejects_broken_data():
    with pytest.raises(ImageDataError):
        make_thumbnail(b"\x89PNG\r\n\x1a\n garbage")


# -- A1111 parameters --------------------------------------------------------------------------------------


def test_parameters_text_has_the_a1111_layout():
    text = a1111_parameters(
        prompt="a red fox",
        negative_prompt="blurry",
        steps=20,
        scale=7.5,
        seed=42,
        width=1024,
        height=1024,
        model="high_aes_general_v20",
    )
    assert text == (
        "a red fox\nNegative prompt: blurry\n"
        "Steps: 20, CFG scale: 7.5, Seed: 42, Size: 1024x1024, Model: high_aes_general_v20"
    )


def test_parameters_text_omits_what_is_unknown():
    text = a1111_parameters(
        prompt="一只猫", negative_prompt=None, steps=None, scale=None, seed=7, width=512, height=768, model="m"
    )
    assert text == "一只猫\nSeed: 7, Size: 512x768, Model: m"


def test_parameters_text_quotes_extra_values_like_a1111():
    text = a1111_parameters(
        prompt="p",
        negative_prompt="",
        steps=None,
        scale=None,
        seed=1,
        width=8,
        height=8,
        model="m",
        extra={"Engine": "preview", "Revised prompt": 'a "nice", sunny day', "Note": "一只猫"},
    )
    assert text.splitlines()[-1] == (
        'Seed: 1, Size: 8x8, Model: m, Engine: preview, Revised prompt: "a \\"nice\\", sunny day", Note: 一只猫'
    )


def test_parameters_text_refuses_a_key_a1111_cannot_parse():
    with pytest.raises(ValueError):
        a1111_parameters(
            prompt="p", negative_prompt=None, steps=None, scale=None, seed=1, width=8, height=8, model="m",
            extra={"bad, key": "x"},
        )


# -- PNG text chunks -----------------------------------------------------------------------------------


def test_parameters_survive_a_round_trip():
    data = embed_png_parameters(encode(gradient(64, 64), "PNG"), PARAMS)
    assert read_png_parameters(data) == PARAMS
    assert b"tEXt" in data and b"iTXt" not in data


def test_parameters_survive_a_round_trip_with_chinese_text():
    text = "一只猫坐在窗台上，阳光\nNegative prompt: 模糊\nSeed: 3, Size: 64x64, Model: m"
    data = embed_png_parameters(encode(gradient(64, 64), "PNG"), text)
    assert read_png_parameters(data) == text
    assert b"iTXt" in data


@pytest.mark.parametrize("text", [PARAMS, "中文提示词\nSeed: 1, Size: 64x64, Model: m"])
def test_pillow_reads_the_embedded_parameters(text):
    data = embed_png_parameters(encode(gradient(64, 64), "PNG"), text)
    image = Image.open(io.BytesIO(data))
    assert image.text["parameters"] == text
    image.load()  # CRCs are checked while loading; a bad one would raise here


def test_the_parameters_chunk_comes_right_after_ihdr():
    data = embed_png_parameters(encode(gradient(64, 64), "PNG"), PARAMS)
    assert data[8 + 25 + 4 : 8 + 25 + 8] == b"tEXt"


def test_embedding_again_replaces_the_previous_parameters():
    data = embed_png_parameters(encode(gradient(64, 64), "PNG"), "first")
    data = embed_png_parameters(data, "二番目")
    assert read_png_parameters(data) == "二番目"
    assert data.count(b"parameters") == 1


def test_embedding_replaces_parameters_written_by_pillow():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", "old", zip=True)
    info.add_text("Software", "kept")
    data = embed_png_parameters(encode(gradient(64, 64), "PNG", pnginfo=info), "new")
    image = Image.open(io.BytesIO(data))
    assert image.text == {"parameters": "new", "Software": "kept"}


def test_embedding_does_not_change_the_pixels():
    original = encode(Image.effect_noise((96, 64), 40).convert("RGB"), "PNG")
    data = embed_png_parameters(original, PARAMS)
    before, after = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(data))
    assert ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox() is None
    # Not re-encoded: the new file is the old one plus exactly one chunk.
    assert len(data) == len(original) + 12 + len(b"parameters\0") + len(PARAMS)


def test_embedding_refuses_data_that_is_not_a_png():
    with pytest.raises(ImageDataError):
        embed_png_parameters(encode(gradient(16, 16), "JPEG"), PARAMS)


def test_embedding_refuses_a_truncated_png():
    data = encode(gradient(64, 64), "PNG")
    with pytest.raises(ImageDataError):
        embed_png_parameters(data[:-20], PARAMS)


def test_reading_parameters_from_elsewhere_gives_none():
    assert read_png_parameters(encode(gradient(16, 16), "PNG")) is None
    assert read_png_parameters(encode(gradient(16, 16), "JPEG")) is None
    assert read_png_parameters(b"") is None


def test_it_reads_compressed_parameters_written_by_pillow():
    from PIL.PngImagePlugin import PngInfo

    for text in ("plain, zipped", "压缩的中文"):
        info = PngInfo()
        info.add_text("parameters", text, zip=True)
        assert read_png_parameters(encode(gradient(16, 16), "PNG", pnginfo=info)) == text
