"""Security headers on every page and response, https hardening driven by the environment, and
`manage.py check --deploy` clean for a production configuration."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from .conftest import run

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent

# Routes that are not pages a browser shows (actions, redirects, data).
ACCOUNTS_ONLY = {"/account", "/login", "/account/password", "/account/delete", "/account/two-factor", "/login/two-factor", "/password-reset", "/password-reset/sent", "/password-reset/done"}
NOT_PAGES = {"account/tokens", "account/webhook-secret", "account/sign-out-everywhere", "account/export", "account/two-factor/recovery-codes", "account/two-factor/off", "logout", "i18n/setlang/", "admin/logout/", "admin/jsi18n/", "admin/autocomplete/", "favicon.ico", "metrics", "jsi18n/"}


def page_paths() -> list[str]:
    """Every route without parameters outside the JSON API, the admin included, plus the API pages."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and not re.search(r"[<(\\]", route) and route not in NOT_PAGES:
                found.append("/" + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns, "")
    return sorted({p for p in found if not p.startswith("/api/")}) + ["/api/v1/docs"]


@pytest.fixture
def task(api, media):
    task_id = api.generate(model="jimeng_t2i_v31", width=512, height=512, steps=None, scale=None, negative_prompt="")
    run(task_id)
    return task_id


def assert_hardened(response, *, page: bool):
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    if page:
        csp = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
        assert csp["script-src"] == "'self'"
        assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'"
        assert csp["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("access", ["open", "accounts"])
def test_every_page_and_the_admin_carry_csp_and_the_other_headers(admin_client, task, settings, access):
    from generation.models import GenerationTask

    settings.IMAGEGEN_ACCESS = access  # the account pages exist in accounts mode only (404 when open)
    row = GenerationTask.objects.get(task_id=task)
    paths = page_paths() + [f"/admin/generation/generationtask/{row.pk}/change/",
                            f"/admin/generation/image/{row.images.first().pk}/change/"]
    assert {"/", "/gallery", "/history", "/admin/", "/admin/login/", "/api/v1/docs"} <= set(paths)
    assert any(p.startswith("/admin/generation/") for p in paths)
    for path in paths:
        response = admin_client.get(path, follow=True)
        if access == "open" and response.status_code == 404 and path in ACCOUNTS_ONLY:
            continue
        assert response.status_code in (200, 403), path  # 403: the admin offers no "add" for log entries
        assert response["Content-Type"].startswith("text/html"), path
        assert_hardened(response, page=True)
        html = response.content.decode()
        # No inline script: every <script> loads a file or is data (json_script).
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers


def test_the_browsable_api_and_error_pages_carry_csp(admin_client, task):
    for path in ("/api/v1/tasks", f"/api/v1/task/{task}", "/api/v1/models"):
        response = admin_client.get(path, headers={"Accept": "text/html"})
        assert response["Content-Type"].startswith("text/html"), path
        assert_hardened(response, page=True)
    response = admin_client.get("/no-such-page")
    assert response.status_code == 404
    assert_hardened(response, page=True)


def test_api_responses_and_image_files_carry_the_headers_too(api, task):
    image = api.get(f"task/{task}").json()["images"][0]
    for response in (api.get("tasks"), api.get("task/nope"), api.client.get(image["url"]),
                     api.client.get(image["thumbnail_url"]), api.post("generate", raw="{")):
        assert_hardened(response, page=False)


def test_plain_http_keeps_cookies_usable_on_localhost(settings, client):
    assert settings.IMAGEGEN_HTTPS is False
    response = client.get("/")
    assert not response.cookies["csrftoken"]["secure"]
    assert "Strict-Transport-Security" not in response.headers


def test_over_https_cookies_are_secure_hsts_is_sent_and_http_is_redirected(settings, client):
    # What IMAGEGEN_HTTPS=true sets (the environment to settings step is covered by the subprocess below).
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    response = client.get("/", secure=True)
    assert response.cookies["csrftoken"]["secure"]
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    redirect = client.get("/gallery?x=1")
    assert redirect.status_code == 301 and redirect["Location"] == "https://testserver/gallery?x=1"
    assert client.get("/api/v1/health").status_code == 200  # load-balancer probes stay on http


def production_env(tmp_path, **extra) -> dict:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("IMAGEGEN_", "DJANGO_", "VOLC_", "PROMETHEUS_"))
            and k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "CACHE_URL", "CSRF_TRUSTED_ORIGINS"}}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "imagegen.settings",
        "IMAGEGEN_DATA_DIR": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "imagegen.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://imagegen.example.com",
        "IMAGEGEN_NUM_PROXIES": "1",
        "IMAGEGEN_HTTPS": "true",
        "IMAGEGEN_ACCESS": "accounts",
        **extra,
    }


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_is_clean_for_the_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "Warning" not in result.stderr, result.stderr


def test_check_deploy_names_what_is_missing_without_https(tmp_path):
    result = manage(production_env(tmp_path, IMAGEGEN_HTTPS="false"), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr + result.stdout


def test_the_https_settings_follow_the_environment(tmp_path):
    script = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
              "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)")
    https = manage(production_env(tmp_path, IMAGEGEN_HSTS_SECONDS="600"), "shell", "-c", script)
    assert https.stdout.strip().splitlines()[-1] == "True True True 600 ('HTTP_X_FORWARDED_PROTO', 'https')", https.stderr
    plain = manage(production_env(tmp_path, IMAGEGEN_HTTPS="false", IMAGEGEN_NUM_PROXIES="0"), "shell", "-c", script)
    assert plain.stdout.strip().splitlines()[-1] == "False False False 0 None", plain.stderr
