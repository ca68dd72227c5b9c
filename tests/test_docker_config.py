"""docker/: the nginx configuration passes `nginx -t`; the compose file, Dockerfile and entrypoint say
what production needs. (`make docker-test` builds the images and runs the stack; this file is the quick check.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DOCKER = Path(__file__).resolve().parent.parent / "docker"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_the_nginx_configuration_passes_nginx_t(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run should have installed it")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "1", "-subj", "/CN=test",
         "-keyout", str(certs / "tls.key"), "-out", str(certs / "tls.crt")],
        check=True, capture_output=True,
    )
    conf = (DOCKER / "nginx.conf").read_text()
    # Outside compose there is no host called "web", and the certificate lives elsewhere.
    conf = conf.replace("server web:8000;", "server 127.0.0.1:8000;").replace("/etc/nginx/certs/", f"{certs}/")
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", f"pid {tmp_path}/nginx.pid; error_log stderr;"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_compose_file_has_every_service_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"nginx", "web", "worker", "worker-2", "postgres", "redis"}
    for name, service in services.items():
        assert "healthcheck" in service, name
        assert service.get("restart") == "unless-stopped", name
    assert set(compose["volumes"]) >= {"data", "static", "certs", "postgres", "redis", "backups"}


def test_every_image_is_a_variable_whose_default_is_the_official_image(compose):
    official = {"nginx": "nginx", "postgres": "postgres", "redis": "redis", "web": "imagegen"}
    for name, repository in official.items():
        match = re.fullmatch(r"\$\{IMAGEGEN_(?:\w+_)?IMAGE:-([\w.-]+):[\w.-]+\}", compose["services"][name]["image"])
        assert match and match.group(1) == repository, compose["services"][name]["image"]
    froms = re.findall(r"^FROM (\S+)", (DOCKER / "Dockerfile").read_text(), re.M)
    assert froms == ["${NODE_IMAGE}", "${PYTHON_IMAGE}"]
    defaults = dict(re.findall(r"^ARG (\w+_IMAGE)=(\S+)", (DOCKER / "Dockerfile").read_text(), re.M))
    assert defaults["NODE_IMAGE"].startswith("node:") and defaults["PYTHON_IMAGE"] == "python:3.13-slim"


def test_web_and_worker_share_one_configuration_and_secret(compose):
    web, worker = compose["services"]["web"], compose["services"]["worker"]
    for key in ("DATABASE_URL", "CACHE_URL", "IMAGEGEN_BROKER", "SECRET_KEY_FILE"):
        assert web["environment"][key] == worker["environment"][key], key
    # Secrets come from the operator's docker/.env, never from the repository.
    assert web["environment"]["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
    assert web["environment"]["IMAGEGEN_NUM_PROXIES"] == "1"


def test_the_worker_stops_by_its_own_signal_with_time_to_finish(compose):
    worker = compose["services"]["worker"]
    assert worker["command"] == ["worker"]
    assert worker["stop_signal"] == "SIGTERM"
    assert int(worker["stop_grace_period"].rstrip("s")) >= 60
    entrypoint = (DOCKER / "entrypoint.sh").read_text()
    # The supervisor gets the signal, not a shell, and stops the cluster through its main process.
    assert "exec python manage.py serve --no-web" in entrypoint


def test_the_worker_container_runs_the_supervisor_and_its_healthcheck_reads_the_stall_signal(compose):
    worker = compose["services"]["worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "python", "manage.py", "queue_status", "--check-worker"]
    assert worker["init"] is True  # something reaps the processes of a killed cluster


def test_nginx_terminates_tls_and_hands_media_over_internally(compose):
    conf = (DOCKER / "nginx.conf").read_text()
    assert "listen 443 ssl" in conf and "return 301 https://" in conf
    assert re.search(r"location /protected-media/ \{\s*internal;", conf)
    assert compose["services"]["web"]["environment"]["IMAGEGEN_X_ACCEL_REDIRECT_PREFIX"] == "/protected-media"
    assert "gzip on;" in conf and "client_max_body_size" in conf and "proxy_read_timeout" in conf
    mounts = compose["services"]["nginx"]["volumes"]
    assert any(m.endswith("/docker-entrypoint.d/10-make-cert.sh:ro") for m in mounts)


def test_the_image_is_multi_stage_and_runs_as_a_non_root_user():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2
    assert compose_web_read_only()
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert "requirements/base.txt" in dockerfile and "dev.txt" not in dockerfile


def test_the_shell_scripts_parse():
    for script in ("entrypoint.sh", "make-cert.sh"):
        assert subprocess.run(["sh", "-n", str(DOCKER / script)]).returncode == 0, script


def compose_web_read_only() -> bool:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]["web"].get("read_only") is True


def test_nginx_sends_the_stream_paths_to_the_one_web_server_unbuffered(compose):
    conf = (DOCKER / "nginx.conf").read_text()
    assert "imagegen_stream" not in conf and "stream:8001" not in conf
    socket = re.search(r"location = /api/v1/generate/stream \{(.*?)\}", conf, re.S).group(1)
    assert "proxy_pass http://imagegen_web;" in socket
    assert "proxy_set_header Upgrade $http_upgrade;" in socket and 'proxy_set_header Connection "upgrade";' in socket
    events = re.search(r"location ~ \^/api/v1/task/\[\^/\]\+/events\$ \{(.*?)\}", conf, re.S).group(1)
    assert "proxy_pass http://imagegen_web;" in events and "proxy_buffering off;" in events
    assert "exec python -m uvicorn imagegen.asgi:application" in (DOCKER / "entrypoint.sh").read_text()
