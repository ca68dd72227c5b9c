"""The offline preview engine. Pure Pillow; no database."""

from __future__ import annotations

import dataclasses
import io
import time

import pytest
from PIL import Image, ImageChops, ImageStat

from generation.engines import preview
from generation.engines.base import Cancelled, Engine, EngineRequest, EngineResult
from generation.engines.preview import MAX_SEED, PreviewEngine
from generation.imaging import inspect_image


class FakeProgress:
    """Records what the engine reports; can be told to cancel after a number of cancelled() checks."""

    def __init__(self, cancel_after: int | None = None):
        self.stages: list[tuple[str, float | None]] = []
        self.extensions: list[float] = []
        self.checks = 0
        self.cancel_after = cancel_after

    def stage(self, stage: str, *, fraction: float | None = None, upstream_task_id: str = "") -> None:
        self.stages.append((stage, fraction))

    def cancelled(self) -> bool:
        self.checks += 1
        return self.cancel_after is not None and self.checks > self.cancel_after

    def extend(self, seconds: float) -> None:
        self.extensions.append(seconds)


def make_request(**changes) -> EngineRequest:
    request = EngineRequest(
        model="high_aes_general_v20",
        action="sync",
        prompt="a red fox in the snow, cinematic lighting",
        negative_prompt=None,
        width=512,
        height=512,
        upstream_width=512,
        upstream_height=512,
        use_sr=False,
        num_images=1,
        steps=None,
        scale=None,
        seed=42,
        enhance_prompt=None,
    )
    return dataclasses.replace(request, **changes)


def generate(engine: PreviewEngine | None = None, **changes) -> EngineResult:
    return (engine or PreviewEngine()).generate(make_request(**changes), FakeProgress())


def pixels(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference per channel, 0..255."""
    return sum(ImageStat.Stat(ImageChops.difference(pixels(a), pixels(b))).mean) / 3


@pytest.fixture
def no_sleeping(monkeypatch):
    """Replace time.sleep in the engine with a recorder, so latency tests run instantly."""
    slept: list[float] = []
    monkeypatch.setattr(preview.time, "sleep", slept.append)
    return slept


def test_it_implements_the_engine_interface():
    engine: Engine = PreviewEngine()
    assert (engine.name, engine.is_preview) == ("preview", True)
    assert "Preview" in engine.label
    assert engine.check() == {"ok": True, "detail": "offline preview engine: images are synthetic"}


def test_the_same_inputs_give_the_same_pixels():
    first, second = generate(), generate()
    assert first.images == second.images
    assert first.upstream_request_id == second.upstream_request_id


def test_different_seeds_give_different_images():
    assert difference(generate(seed=1).images[0], generate(seed=2).images[0]) > 10


def test_different_prompts_give_different_images():
    a = generate(prompt="a lighthouse at dusk").images[0]
    b = generate(prompt="a bowl of ramen").images[0]
    assert difference(a, b) > 10


def test_it_makes_the_requested_output_size():
    # With use_sr the upstream size is half the output; the preview skips the upscale and makes the output.
    result = generate(width=768, height=1344, upstream_width=384, upstream_height=672, use_sr=True)
    info = inspect_image(result.images[0])
    assert (info.format, info.width, info.height) == ("png", 768, 1344)


def test_it_makes_one_image_per_requested_image_each_with_the_next_seed():
    batch = generate(num_images=3, seed=100).images
    assert len(batch) == 3 and len(set(batch)) == 3
    assert batch[2] == generate(num_images=1, seed=102).images[0]


def test_image_seeds_wrap_around_at_the_largest_seed():
    batch = generate(num_images=2, seed=MAX_SEED).images
    assert batch[1] == generate(seed=0).images[0]


def test_it_does_not_crash_on_chinese_prompts():
    result = generate(prompt="一只猫坐在窗台上，阳光明媚")
    assert inspect_image(result.images[0]).width == 512


def test_it_handles_a_tiny_image():
    assert inspect_image(generate(width=16, height=16).images[0]).width == 16


def test_it_labels_the_result_as_a_preview():
    result = generate()
    assert result.extra == {"engine": "preview"}
    assert result.upstream_request_id.startswith("preview-")
    assert len(result.upstream_request_id) > len("preview-")


def test_it_generates_2048_square_quickly():
    generate(width=64, height=64)  # warm up font loading and codecs
    started = time.perf_counter()
    result = generate(width=2048, height=2048)
    elapsed = time.perf_counter() - started
    assert inspect_image(result.images[0]).width == 2048
    assert elapsed < 1.5  # typically ~0.2 s; generous for slow CI machines


def test_it_reports_stages_without_sleeping_when_there_is_no_latency(no_sleeping):
    progress = FakeProgress()
    PreviewEngine().generate(make_request(num_images=2), progress)
    assert no_sleeping == []
    assert progress.stages[0] == ("queued_upstream", 0.0)
    assert progress.stages[1:] == [("generating", 0.0), ("generating", 0.5), ("generating", 1.0)]


def test_it_spreads_the_latency_in_short_sleeps_and_reports_progress(no_sleeping):
    progress = FakeProgress()
    PreviewEngine(latency=2.0).generate(make_request(), progress)
    assert sum(no_sleeping) == pytest.approx(2.0)
    assert max(no_sleeping) <= 0.25
    fractions = [fraction for stage, fraction in progress.stages if stage == "generating"]
    assert len(fractions) > 3
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # A lease extension is promised before every sleep, covering at least that sleep.
    assert len(progress.extensions) >= len(no_sleeping)
    assert all(extension >= 0.25 for extension in progress.extensions)


def test_it_stops_when_cancelled(no_sleeping):
    progress = FakeProgress(cancel_after=3)
    with pytest.raises(Cancelled):
        PreviewEngine(latency=5.0).generate(make_request(), progress)
    assert sum(no_sleeping) < 1.0  # it stopped early rather than sleeping through the latency


def test_it_stops_before_rendering_when_cancelled_with_no_latency(monkeypatch):
    def render_png(*args):
        raise AssertionError("rendered after cancellation")

    monkeypatch.setattr(preview, "render_png", render_png)
    with pytest.raises(Cancelled):
        PreviewEngine().generate(make_request(), FakeProgress(cancel_after=0))


def test_real_latency_is_roughly_respected():
    started = time.perf_counter()
    generate(PreviewEngine(latency=0.3), width=64, height=64)
    assert 0.3 <= time.perf_counter() - started < 1.5
