"""`make docker-test`: the production stack of docker/ built and run for real (podman + podman-compose here;
the same files serve Docker). Images come from docker/standins/build.sh unless IMAGEGEN_*_IMAGE name others.
Every request goes to the ports nginx publishes on 127.0.0.1; the test removes its containers, volumes and the
app image at the end (the stand-in images stay cached, as the debootstrapped base does).

It proves, in order: every service healthy through its compose healthcheck; over HTTPS with the generated
certificate the pages, the API in accounts mode with a token made inside the web container, the WebSocket and
the event stream following a task, staff sign-in with a second factor (enrolled on the way) into the admin,
and the static files' cache headers; a task done end to end by the workers; a worker container SIGKILLed
mid-task comes back by its restart policy and the task completes exactly once; `down` + `up` keeps tasks, images
and users; the web container runs as a non-root user on a read-only root filesystem; a backup of the running
stack restores everything into emptied volumes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
PROJECT = "imagegen-docker-test"
APP_IMAGE = "localhost/imagegen-docker-test:latest"
SERVICES = ["postgres", "redis", "web", "worker", "worker-2", "nginx"]
PASSWORD = "a long admin pass phrase 7"

# The module's stack fixture builds the app image and starts the whole stack before the first test: longer
# than pytest.ini's 600 s bound on a cold machine.
pytestmark = pytest.mark.timeout(1800)


def phase(name: str, started: float) -> None:
    print(f"docker-test: {name:<28} {time.monotonic() - started:6.1f}s", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require(tool: str) -> str:
    found = shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))
    if found:
        return found
    message = f"{tool} is missing (.ci/run installs podman, runc and debootstrap; podman-compose comes with make dev-deps)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Compose:
    def __init__(self, env: dict, compose_tool: str):
        self.env, self.tool = env, compose_tool

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [self.tool, "-p", PROJECT, "-f", str(DOCKER / "compose.yaml"), *args]
        done = subprocess.run(cmd, cwd=DOCKER, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def podman(self, *args: str, timeout: float = 300, check: bool = True, input: str | None = None):
        done = subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              input=input)
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return done

    def container(self, service: str) -> str:
        names = self.podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}",
                            "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}").stdout.split()
        assert names, f"no container for {service}"
        return names[0]

    def exec(self, service: str, *args: str, input: str | None = None) -> str:
        flags = ["-i"] if input is not None else []
        return self.podman("exec", *flags, self.container(service), *args, input=input).stdout

    def healthy(self, service: str) -> bool:
        return self.podman("healthcheck", "run", self.container(service), check=False, timeout=60).returncode == 0

    def wait_healthy(self, services=SERVICES, timeout: float = 300) -> None:
        """podman 4.3 runs healthchecks from systemd timers, which this machine lacks: run each one here."""
        deadline = time.monotonic() + timeout
        waiting = list(services)
        while waiting and time.monotonic() < deadline:
            waiting = [s for s in waiting if not self._try_healthy(s)]
            if waiting:
                time.sleep(2)
        if waiting:
            logs = {s: self.podman("logs", "--tail", "30", self.container(s), check=False).stdout[-1500:] +
                    self.podman("logs", "--tail", "30", self.container(s), check=False).stderr[-1500:] for s in waiting}
            raise AssertionError(f"not healthy after {timeout}s: {waiting}\n{json.dumps(logs, indent=1)}")

    def _try_healthy(self, service: str) -> bool:
        try:
            return self.healthy(service)
        except AssertionError:
            return False


class Https:
    """HTTPS to nginx's published port, verifying the stack's own certificate."""

    def __init__(self, port: int, cafile: Path):
        self.port = port
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, method: str, path: str, body=None, headers=None, *, form: dict | None = None):
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=60)
        head = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            head["Content-Type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            head["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token and "Authorization" not in head:
            head["Authorization"] = f"Bearer {self.token}"
        conn.request(method, path, body=data, headers=head)
        resp = conn.getresponse()
        raw = resp.read()
        for header in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, resp.headers, raw

    def json(self, method: str, path: str, body=None):
        status, _, raw = self.request(method, path, body)
        return status, (json.loads(raw) if raw else None)

    def wait_task(self, task_id: str, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, task = self.json("GET", f"/api/v1/task/{task_id}")
            if status == 200 and task["status"] in ("completed", "failed", "cancelled"):
                return task
            time.sleep(1)
        raise AssertionError(f"task {task_id} did not finish in {timeout}s: {task}")


@pytest.fixture(scope="module")
def stack():
    started = time.monotonic()
    require("podman")
    tool = require("podman-compose")
    env = {**os.environ, "CONTAINERS_CONF": str(DOCKER / "containers.conf")}
    # What the official images offer, or stand-ins built here when they are not named.
    images = {k: v for k, v in os.environ.items() if k.startswith("IMAGEGEN_") and k.endswith("_IMAGE")}
    if len(images) < 5:
        require("debootstrap")
        t = time.monotonic()
        built = subprocess.run([str(DOCKER / "standins" / "build.sh")], env=env, capture_output=True, text=True,
                               timeout=1200)
        sys.stderr.write(built.stderr)
        assert built.returncode == 0, f"the stand-in images did not build:\n{built.stderr[-3000:]}"
        images = {**dict(line.split("=", 1) for line in built.stdout.split()), **images}
        phase("stand-in images", t)
    env.update(images)
    t = time.monotonic()
    cert = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    secret = ["--secret", f"id=ca,src={cert}"] if Path(cert).is_file() else []
    build = subprocess.run(["podman", "build", "-q", *secret, "--build-arg", f"PYTHON_IMAGE={env['IMAGEGEN_PYTHON_IMAGE']}",
                            "--build-arg", f"NODE_IMAGE={env['IMAGEGEN_NODE_IMAGE']}", "-f", "docker/Dockerfile",
                            "-t", APP_IMAGE, "."], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, f"the app image did not build:\n{build.stdout[-2000:]}\n{build.stderr[-4000:]}"
    phase("app image", t)

    work = Path(tempfile.mkdtemp(prefix="imagegen-docker-test-"))
    https_port, http_port = free_port(), free_port()
    env_file = work / "app.env"
    env_file.write_text("\n".join([
        "IMAGEGEN_ACCESS=accounts", "IMAGEGEN_ENGINE=preview", "IMAGEGEN_PREVIEW_LATENCY=2",
        "IMAGEGEN_REDELIVERY_SECONDS=10", "IMAGEGEN_STREAM_POLL=0.2",
        "IMAGEGEN_DEFAULT_DAILY_IMAGES=1000", "IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS=100",
        "IMAGEGEN_MAX_QUEUED_PER_CLIENT=100", "IMAGEGEN_CREATE_RATE=1000/m", "WEB_CONCURRENCY=2", "LOG_LEVEL=INFO", ""]))
    env.update({
        "IMAGEGEN_IMAGE": APP_IMAGE, "IMAGEGEN_ENV_FILE": str(env_file), "IMAGEGEN_BIND": "127.0.0.1",
        "HTTPS_PORT": str(https_port), "HTTP_PORT": str(http_port), "HTTPS_ORIGIN_PORT": f":{https_port}",
        "SERVER_NAME": "localhost", "IMAGEGEN_SECRETS_DIR": str(work / "secrets"),
    })
    # The secrets as an operator makes them (docker/make-secrets.sh): random SECRET_KEY and database password,
    # empty VolcEngine keys (the preview engine), readable by the containers' group only.
    made = subprocess.run(["sh", "docker/make-secrets.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    compose = Compose(env, tool)
    compose.run("down", "-v", check=False, timeout=300)  # what an interrupted run left
    try:
        t = time.monotonic()
        compose.run("up", "-d", "--no-build")
        compose.wait_healthy()
        phase("up and healthy", t)
        cafile = work / "tls.crt"
        cafile.write_text(compose.exec("nginx", "cat", "/etc/nginx/certs/tls.crt"))
        compose.exec("web", "python", "manage.py", "adduser", "admin", "--staff", "--password-stdin", input=PASSWORD + "\n")
        client = Https(https_port, cafile)
        client.token = compose.exec("web", "python", "manage.py", "create_token", "admin").strip()
        yield compose, client, work
    finally:
        t = time.monotonic()
        compose.run("down", "-v", check=False, timeout=600)
        compose.podman("rmi", "-f", APP_IMAGE, check=False)
        left = compose.podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}", "-q").stdout.split()
        volumes = compose.podman("volume", "ls", "-q", "--filter", f"label=io.podman.compose.project={PROJECT}").stdout.split()
        shutil.rmtree(work, ignore_errors=True)
        phase("cleaned up", t)
        phase("whole docker test", started)
        assert not left and not volumes, f"left behind: containers {left}, volumes {volumes}"


def test_every_service_reports_healthy_through_its_compose_healthcheck(stack):
    compose, _, _ = stack
    assert all(compose.healthy(service) for service in SERVICES)


def test_the_studio_pages_render_over_https_and_static_files_carry_cache_headers(stack):
    _, client, _ = stack
    status, headers, raw = client.request("GET", "/login")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    html = raw.decode()
    assert "Strict-Transport-Security" in headers
    static = re.search(r'(?:src|href)="(/static/[^"]+\.(?:js|css))"', html).group(1)
    status, headers, _ = client.request("GET", static)
    assert status == 200
    cache = ", ".join(headers.get_all("Cache-Control"))
    assert "immutable" in cache and "max-age" in cache
    status, headers, raw = client.request("GET", "/")
    assert status in (200, 302)


def test_the_api_answers_in_accounts_mode_only_with_the_token(stack):
    _, client, _ = stack
    token, client.token, cookies, client.cookies = client.token, "", client.cookies, {}
    try:
        status, body = client.json("POST", "/api/v1/generate", {"prompt": "no token"})
    finally:
        client.token, client.cookies = token, cookies
    assert status in (401, 403) and body["error"] == "not_authenticated", body
    status, body = client.json("POST", "/api/v1/generate", {"prompt": "a lighthouse in the docker stack"})
    assert status == 201, body
    task = client.wait_task(body["task_id"])
    assert task["status"] == "completed" and task["images"]
    status, headers, raw = client.request("GET", task["images"][0]["url"])
    assert status == 200 and headers["Content-Type"].startswith("image/") and raw


def test_the_websocket_and_the_event_stream_follow_a_task_on_the_one_origin(stack):
    from websockets.sync.client import connect

    _, client, _ = stack
    url = f"wss://localhost:{client.port}/api/v1/generate/stream"
    with connect(url, ssl=client.context, additional_headers={"Authorization": f"Bearer {client.token}"},
                 open_timeout=30) as ws:
        ws.send(json.dumps({"type": "generate", "request_id": "r", "body": {"prompt": "over the socket"}}))
        seen = []
        while not seen or seen[-1]["type"] != "unsubscribed":
            message = json.loads(ws.recv(timeout=120))
            if message["type"] != "ping":
                seen.append(message)
    kinds = [m["type"] for m in seen]
    assert kinds[0] == "created" and "snapshot" in kinds and kinds[-2] == "completed", kinds

    status, body = client.json("POST", "/api/v1/generate", {"prompt": "followed by events"})
    conn = http.client.HTTPSConnection("localhost", client.port, context=client.context, timeout=120)
    conn.request("GET", f"/api/v1/task/{body['task_id']}/events",
                 headers={"Accept": "text/event-stream", "Authorization": f"Bearer {client.token}"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")
    events = []
    for raw in resp:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            events.append(line[7:])
            if events[-1] == "unsubscribed":
                break
    conn.close()
    assert events[0] == "snapshot"
    assert events[-2:] == ["completed", "unsubscribed"], events


def totp(key_base32: str) -> str:
    """The code an authenticator app shows now for a base32 key (RFC 6238: SHA-1, 30 s, 6 digits)."""
    counter = struct.pack(">Q", int(time.time()) // 30)
    digest = hmac.new(base64.b32decode(key_base32), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def form_errors(raw: bytes) -> list[str]:
    return [" ".join(e.split()) for e in re.findall(r'class="(?:errornote|errorlist)[^"]*"[^>]*>(.*?)</', raw.decode(), re.S)]


def test_staff_sign_in_over_https_with_a_second_factor_and_reach_the_admin(stack):
    """The deployment sets IMAGEGEN_STAFF_2FA: the console's own sign-in refuses a password alone and points
    to the site's, where staff enrol an authenticator app while signing in, then reach the console."""
    _, client, _ = stack
    origin = f"https://localhost:{client.port}"
    token, client.token = client.token, ""  # a browser: cookies only
    try:
        status, _, raw = client.request("GET", "/admin/login/")
        assert status == 200
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', raw.decode()).group(1)
        status, _, raw = client.request("POST", "/admin/login/?next=/admin/",
                                        headers={"Origin": origin, "Referer": f"{origin}/admin/login/"},
                                        form={"csrfmiddlewaretoken": csrf, "username": "admin", "password": PASSWORD,
                                              "next": "/admin/"})
        assert status == 200 and any("/login" in e for e in form_errors(raw)), (status, form_errors(raw))

        status, _, raw = client.request("GET", "/login?next=/admin/")
        assert status == 200
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', raw.decode()).group(1)
        status, headers, raw = client.request("POST", "/login", headers={"Origin": origin, "Referer": f"{origin}/login"},
                                              form={"csrfmiddlewaretoken": csrf, "username": "admin",
                                                    "password": PASSWORD, "next": "/admin/"})
        assert status == 302 and headers["Location"] == "/login/two-factor", (status, form_errors(raw))
        status, _, raw = client.request("GET", "/admin/")
        assert status == 302  # the password alone signs nobody in
        status, _, raw = client.request("GET", "/login/two-factor")
        page = raw.decode()
        assert status == 200 and "otpauth://totp/" in page
        key = re.search(r'id="totp-key">([A-Z2-7]+)<', page).group(1)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, _, raw = client.request("POST", "/login/two-factor",
                                        headers={"Origin": origin, "Referer": f"{origin}/login/two-factor"},
                                        form={"csrfmiddlewaretoken": csrf, "code": totp(key)})
        assert status == 200 and len(re.findall(r"<li><code>[a-z0-9]+</code></li>", raw.decode())) == 10, \
            (status, form_errors(raw))
        status, _, raw = client.request("GET", "/admin/")
        assert status == 200 and b'action="/admin/logout/"' in raw
    finally:
        client.token = token


def test_a_worker_killed_mid_task_comes_back_and_the_task_completes_exactly_once(stack):
    compose, client, _ = stack
    compose.podman("stop", "-t", "60", compose.container("worker-2"))  # the task can only go to `worker`
    try:
        worker = compose.container("worker")
        status, body = client.json("POST", "/api/v1/generate", {"prompt": "killed mid-task", "num_images": 1})
        assert status == 201, body
        task_id = body["task_id"]
        deadline = time.monotonic() + 120
        while client.json("GET", f"/api/v1/task/{task_id}")[1]["status"] != "processing":
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.2)
        pid = compose.podman("inspect", worker, "--format", "{{.State.Pid}}").stdout.strip()
        os.kill(int(pid), 9)  # the container's main process, as an OOM kill does it
        deadline = time.monotonic() + 120
        while compose.podman("inspect", worker, "--format", "{{.RestartCount}}").stdout.strip() in ("", "0"):
            assert time.monotonic() < deadline, "the restart policy did not bring the worker back"
            time.sleep(1)
        task = client.wait_task(task_id)
    finally:
        compose.podman("start", compose.container("worker-2"))
    assert task["status"] == "completed" and len(task["images"]) == 1
    rows = compose.exec("postgres", "psql", "-U", "imagegen", "-d", "imagegen", "-Atc",
                        f"SELECT COUNT(*) FROM images i JOIN tasks t ON i.task_id = t.id WHERE t.task_id = '{task_id}'")
    assert rows.strip() == "1"
    compose.wait_healthy(["worker", "worker-2"])


def test_the_web_container_runs_as_a_non_root_user_on_a_read_only_root(stack):
    compose, _, _ = stack
    assert compose.exec("web", "id", "-u").strip() != "0"
    web = compose.container("web")
    assert compose.podman("inspect", web, "--format", "{{.HostConfig.ReadonlyRootfs}}").stdout.strip() == "true"
    denied = compose.podman("exec", web, "touch", "/app/written", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr


def _everything(client: Https) -> tuple[list, list]:
    status, page = client.json("GET", "/api/v1/tasks?page_size=100")
    assert status == 200, page
    items = page["results"]
    tasks = sorted((t["task_id"], t["status"], len(t["images"])) for t in items)
    images = [img["url"] for t in items for img in t["images"]]
    return tasks, images


def test_down_and_up_keep_tasks_images_and_users(stack):
    compose, client, _ = stack
    before, images = _everything(client)
    assert before
    compose.run("down")
    compose.run("up", "-d", "--no-build")
    compose.wait_healthy()
    assert _everything(client) == (before, images)  # the same token still works: the users are kept
    for url in images:
        assert client.request("GET", url)[0] == 200


def test_a_backup_of_the_running_stack_restores_into_emptied_volumes(stack):
    compose, client, work = stack
    before, images = _everything(client)
    out = compose.exec("web", "python", "manage.py", "backup", "--output", "/backups")
    archive = re.search(r"(/backups/imagegen-backup-[\w-]+\.tar\.gz)", out).group(1)
    compose.podman("cp", f"{compose.container('web')}:{archive}", str(work / "backup.tar.gz"))
    compose.run("down", "-v")  # every volume gone: database, images, users, backups
    compose.run("up", "-d", "--no-build")
    compose.wait_healthy(["postgres", "redis", "web", "nginx"])
    # The certs volume went too: nginx made a new certificate.
    (work / "tls.crt").write_text(compose.exec("nginx", "cat", "/etc/nginx/certs/tls.crt"))
    client.context = ssl.create_default_context(cafile=str(work / "tls.crt"))
    for worker in ("worker", "worker-2"):  # restore wants the workers stopped
        compose.podman("stop", "-t", "60", compose.container(worker))
    compose.podman("cp", str(work / "backup.tar.gz"), f"{compose.container('web')}:/backups/restore.tar.gz")
    # podman 4.3's container DNS can lag right after the network is made again: wait until the web container
    # resolves the database, and try again (--force: the files of a first try may be in place) if it still did not.
    resolve = "import socket; socket.getaddrinfo('postgres', 5432)"
    deadline = time.monotonic() + 60
    while compose.podman("exec", compose.container("web"), "python", "-c", resolve, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the web container never resolved the database's name"
        time.sleep(1)
    for attempt in range(3):
        done = compose.podman("exec", compose.container("web"), "python", "manage.py", "restore",
                              "/backups/restore.tar.gz", *(["--force"] if attempt else []), check=False)
        if done.returncode == 0 or "failed to resolve host" not in done.stderr:
            break
        time.sleep(3)
    assert done.returncode == 0, done.stderr[-3000:]
    restored = done.stdout
    assert "every file matches its checksum" in restored
    for worker in ("worker", "worker-2"):
        compose.podman("start", compose.container(worker))
    compose.wait_healthy()
    assert _everything(client) == (before, images)
    for url in images:
        assert client.request("GET", url)[0] == 200
