"""The scale path, for real: PostgreSQL (the machine's), Redis as cache and broker, S3-compatible storage
(a moto server process), and several web and worker nodes with nothing shared but those services."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest

from .services import postgres_url, redis_url, s3_env, s3_server  # noqa: F401  (fixtures)
from .stack import Stack

pytestmark = [pytest.mark.processes]


def scale_env(postgres_url, redis_url, s3_env, **extra):
    _bucket, s3 = s3_env
    return {
        "DATABASE_URL": postgres_url,
        "CACHE_URL": redis_url,
        "IMAGEGEN_BROKER": redis_url,
        "IMAGEGEN_PREVIEW_LATENCY": "0.3",
        # Every node of one installation shares the key: it signs the queue's messages.
        "SECRET_KEY": "scale-path-test-secret-key-shared-by-every-node",
        **s3,
        **extra,
    }


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_the_pipeline_runs_on_postgres_redis_and_s3(tmp_path, postgres_url, redis_url, s3_env, s3_server):
    bucket, _ = s3_env
    stack = Stack(tmp_path / "node", **scale_env(postgres_url, redis_url, s3_env))
    try:
        stack.start_web()
        stack.start_worker()
        health = stack.request("GET", "/api/v1/health")[1]
        assert health["status"] == "ok"
        assert "redis" in health["checks"]["broker"]["detail"].lower() or health["checks"]["broker"]["ok"]
        info = stack.request("GET", "/api/v1/system/info")[1]
        assert info["runtime"]["database"] == "postgresql" and info["queue"]["type"] == "redis"
        assert info["storage"]["backend"] == "S3Storage"
        task_id = stack.generate(num_images=2, model="high_aes_general_v20", width=1024, height=1024)
        stack.wait_for(lambda: stack.task(task_id)["status"] == "completed", timeout=60, what="completion")
        task = stack.task(task_id)
        keys = s3_server.keys(bucket)
        assert len(keys) == 4  # two originals, two thumbnails, in the bucket
        for image in task["images"]:
            status, payload = stack.request("GET", image["url"])
            assert status == 200 and hashlib.sha256(payload["_bytes"]).hexdigest() == image["sha256"]
        assert stack.request("DELETE", f"/api/v1/task/{task_id}")[0] == 204  # to the trash: the files stay
        assert len(s3_server.keys(bucket)) == 4
        assert stack.request("DELETE", f"/api/v1/trash/{task_id}")[0] == 204  # deleted for good
        stack.wait_for(lambda: s3_server.keys(bucket) == [], timeout=10, what="the objects to be deleted")
    finally:
        stack.close()


def test_images_can_be_served_as_short_lived_presigned_urls(tmp_path, postgres_url, redis_url, s3_env):
    stack = Stack(tmp_path / "node", **scale_env(postgres_url, redis_url, s3_env, IMAGEGEN_S3_PRESIGNED="true"))
    try:
        stack.start_web()
        stack.start_worker()
        task_id = stack.generate()
        stack.wait_for(lambda: stack.task(task_id)["status"] == "completed", timeout=60, what="completion")
        image = stack.task(task_id)["images"][0]
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"http://127.0.0.1:{stack.port}{image['url']}?download=1")
        assert redirect.value.code == 302
        location = redirect.value.headers["Location"]
        assert "X-Amz-Expires=" in location and "X-Amz-Signature=" in location
        assert hashlib.sha256(fetch(location)).hexdigest() == image["sha256"]
    finally:
        stack.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_two_web_and_two_worker_nodes_run_every_task_exactly_once(tmp_path, postgres_url, redis_url, s3_env):
    env = scale_env(postgres_url, redis_url, s3_env, IMAGEGEN_WORKERS="2")
    nodes = [Stack(tmp_path / f"node{i}", **env) for i in (1, 2)]
    try:
        for node in nodes:
            node.start_web()
            node.start_worker()
        count = 24
        ids = [nodes[i % 2].generate(prompt=f"burst {i}", seed=i) for i in range(count)]
        a, b = nodes
        a.wait_for(lambda: set(a.statuses().values()) == {"completed"} and len(a.statuses()) == count,
                   timeout=180, what="every task to complete")
        rows = a.query("SELECT task_id, attempts, retry_count FROM tasks")
        assert sorted(r[0] for r in rows) == sorted(ids)
        assert {(r[1], r[2]) for r in rows} == {(1, 0)}  # one run each: never twice, never retried
        images = a.query("SELECT t.task_id, COUNT(i.id) FROM tasks t JOIN images i ON i.task_id = t.id GROUP BY t.task_id")
        assert dict(images) == {task_id: 1 for task_id in ids}
        # Both clusters did work, and each task's run shows once in the worker logs of all nodes.
        logs = a.log("worker") + b.log("worker")
        for task_id in ids:
            assert logs.count(f"task {task_id} attempt 1 ") == 1, task_id
        assert "attempt 1" in a.log("worker") and "attempt 1" in b.log("worker")
        for task_id in ids[:6]:
            image = a.task(task_id)["images"][0]
            bodies = [node.request("GET", image["url"])[1]["_bytes"] for node in nodes]
            assert bodies[0] == bodies[1] and hashlib.sha256(bodies[0]).hexdigest() == image["sha256"]
    finally:
        for node in nodes:
            node.close()
