"""Scenario 7: corrupt data from upstream — base64 that does not decode, bytes that are not an image, a
truncated image, a decompression bomb (a 274-byte PNG whose header claims 50000x50000), result URLs that
answer 403 or an HTML page, and a two-image task whose second image is broken after the first was already
written. Each task fails at once with a clear message, and nothing half-written remains."""

from __future__ import annotations

import pytest

from ..stack import Stack
from . import harness
from .harness import prompt_calls

pytestmark = harness.MARKS

# fault -> (model, size, images, what the task's error says); one model per fault so all run at once.
CASES = {
    "bad_base64": ("high_aes_general_v30l_zt2i", 512, 1, "base64 image data that does not decode"),
    "corrupt_image": ("high_aes_general_v21_L", 512, 1, "not an image"),
    "truncated_image": ("jimeng_high_aes_general_v21_L", 512, 1, "truncated image data"),
    "bomb_image": ("high_aes_general_v20_L", 512, 1, "decompression bomb"),
    "url_403": ("jimeng_t2i_v31", 1024, 1, "answered HTTP 403"),
    "url_html": ("jimeng_t2i_v30", 1024, 1, "text/html"),
}
# The second of two images is truncated: the first was written before the second was checked.
HALF_WRITTEN = ("jimeng_t2i_v40", 1024, 2, "truncated image data")


@pytest.fixture
def upstream():
    server = harness.fake_upstream(latency=0.1, async_steps=1)
    yield server
    server.stop()


def test_corrupt_upstream_data_fails_the_task_clearly_and_leaves_nothing(tmp_path, upstream):
    stack = Stack(tmp_path / "data", **harness.volc_env(upstream, VOLC_MAX_CONCURRENCY=4), IMAGEGEN_WORKERS=2)
    expected: dict[str, tuple[str, str, int]] = {}  # task id -> (fault, message, generation calls)
    try:
        stack.start_web()
        stack.start_worker()
        for fault, (model, side, count, message) in CASES.items():
            upstream.inject(fault, req_key=model)
            task_id = stack.generate(prompt=f"corrupt {fault}", model=model, width=side, height=side,
                                     num_images=count)
            expected[task_id] = (fault, message, 1)
        model, side, count, message = HALF_WRITTEN
        upstream.inject("truncated_image", req_key=model, action="CVSync2AsyncSubmitTask", skip=1)
        half = stack.generate(prompt="corrupt second image", model=model, width=side, height=side, num_images=count)
        expected[half] = ("truncated_image (2nd image)", message, 2)
        control = stack.generate(prompt="a sound image", model=CASES["bomb_image"][0], width=512, height=512)

        ids = [*expected, control]
        harness.wait_all_finished(stack, ids, timeout=90)
        rows = harness.assert_final_state(stack, ids, failures={"bad_upstream_data"})
        assert upstream.pending_faults == []

        for task_id, (fault, message, calls) in expected.items():
            row = rows[task_id]
            assert (row["status"], row["error_code"]) == ("failed", "bad_upstream_data"), (fault, row)
            assert message in row["error_message"], (fault, row["error_message"])
            assert row["attempts"] == 1  # corrupt data is final: never paid for twice
            generations = [c for c in prompt_calls(upstream, row["prompt"])
                           if c.action in ("CVProcess", "CVSync2AsyncSubmitTask")]
            assert len(generations) == calls, fault
            error = stack.task(task_id)["error"]
            assert error == {"code": "bad_upstream_data",
                             "message": "The image service returned data that is not a valid image."}
        assert rows[control]["status"] == "completed"
        assert len(stack.media_files()) == 2  # the control's original and thumbnail, nothing else
        # The bomb was refused from its header: no worker ran out of memory or was replaced.
        assert "reincarnated" not in harness.logs(stack)
    finally:
        stack.close()
