"""docker/ deploys securely by default (finding H1, the nginx row of "info", item 5's Docker secrets, item 6's
shared group and item 7's staff two-factor default): accounts mode, staff with a second factor, secrets from
files, HSTS everywhere, nginx reading images as a member of the app's group."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

DOCKER = Path(__file__).resolve().parent.parent / "docker"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_every_app_service_runs_accounts_mode(compose):
    for name in ("web", "worker", "worker-2"):
        assert compose["services"][name]["environment"]["IMAGEGEN_ACCESS"] == "accounts", name
    assert "IMAGEGEN_ACCESS=accounts" in (DOCKER / "env.example").read_text()
    assert re.search(r"^\s+IMAGEGEN_ACCESS=accounts", (DOCKER / "Dockerfile").read_text(), re.M)


def test_staff_must_sign_in_with_a_second_factor_unless_the_operator_turns_it_off(compose):
    for name in ("web", "worker", "worker-2"):
        assert compose["services"][name]["environment"]["IMAGEGEN_STAFF_2FA"] == "${IMAGEGEN_STAFF_2FA:-true}", name
    assert "IMAGEGEN_STAFF_2FA=true" in (DOCKER / "env.example").read_text()


def test_secrets_reach_the_app_as_files_and_never_as_environment_values(compose):
    env = compose["services"]["web"]["environment"]
    for name in ("SECRET_KEY", "VOLC_SECRETKEY", "VOLC_ACCESSKEY", "DATABASE_PASSWORD", "ARK_API_KEY",
                 "EMAIL_HOST_PASSWORD"):
        assert name not in env, name
        assert env[f"{name}_FILE"].startswith("/run/secrets/"), name
    assert "@" in env["DATABASE_URL"] and ":" not in env["DATABASE_URL"].split("@")[0].split("//")[1]
    assert set(compose["services"]["web"]["secrets"]) >= {"secret_key", "postgres_password", "volc_secretkey", "ark_api_key",
                                                         "email_host_password"}
    for service in ("worker", "worker-2"):
        assert compose["services"][service]["secrets"] == compose["services"]["web"]["secrets"], service
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    example = (DOCKER / "env.example").read_text()
    for name in ("SECRET_KEY=", "PASSWORD=", "VOLC_SECRETKEY=", "ARK_API_KEY="):
        assert name not in example, name


def test_make_secrets_creates_files_nobody_else_reads(tmp_path):
    copy = tmp_path / "docker"
    copy.mkdir()
    (copy / "make-secrets.sh").write_bytes((DOCKER / "make-secrets.sh").read_bytes())
    result = subprocess.run(["sh", str(copy / "make-secrets.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    files = {p.name: p for p in (copy / "secrets").iterdir()}
    assert set(files) == {"secret_key", "postgres_password", "volc_accesskey", "volc_secretkey", "ark_api_key",
                          "email_host_password"}
    assert len(files["secret_key"].read_text()) >= 40
    for path in files.values():
        assert path.stat().st_mode & 0o007 == 0, path


def test_hsts_is_sent_on_static_files_too():
    conf = (DOCKER / "nginx.conf").read_text()
    static = re.search(r"location /static/ \{(.*?)\}", conf, re.S).group(1)
    assert 'Strict-Transport-Security "max-age=31536000" always' in static


def test_nginx_reads_images_through_the_apps_group(compose):
    mounts = compose["services"]["nginx"]["volumes"]
    assert "./shared-group.sh:/docker-entrypoint.d/20-shared-group.sh:ro" in mounts
    script = (DOCKER / "shared-group.sh").read_text()
    assert "10001" in script and "for user in nginx www-data nobody" in script
    assert "--gid 10001 imagegen" in (DOCKER / "Dockerfile").read_text()
    assert subprocess.run(["sh", "-n", str(DOCKER / "shared-group.sh")]).returncode == 0
