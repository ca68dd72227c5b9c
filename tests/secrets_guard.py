"""A suite-wide guard: configured secrets never appear in a response, a log line or a process's log file.

Three listeners feed it: a middleware (settings_test puts it outermost) sees every response the app
gives in this process — test client, schemathesis, live servers; a handler on the root logger (and on
every logger that does not propagate) sees every log record with its traceback; `Stack.close()` hands
over the log files of the real gunicorn/qcluster processes. An autouse fixture (conftest.py) fails the
test during which a leak happened; the session's end lists leaks seen outside any test.

What counts as a secret is read when a listener looks, so a test's own `settings.VOLC_SECRETKEY = ...`
is guarded too: SECRET_KEY, the VolcEngine keys, the metrics token, object-storage keys, passwords in
database/cache/broker URLs, and anything a test registers with `guard.add()`. Values shorter than
MIN_LENGTH are ignored (a password "pw" is in every page). A leak is reported by the secret's name,
never its value.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

MIN_LENGTH = 12
# A whole API token, whoever made it (only its 12-character prefix may be logged). Pages and responses are
# not checked for it: the token is shown once, on purpose, when it is made.
_API_TOKEN = re.compile(r"igt_[A-Za-z0-9_-]{40,}")
_URL_SETTINGS = ("DATABASE_URL", "CACHE_URL", "IMAGEGEN_BROKER")
_ENV_SECRETS = ("SECRET_KEY", "VOLC_ACCESSKEY", "VOLC_SECRETKEY", "IMAGEGEN_METRICS_TOKEN",
                "IMAGEGEN_S3_ACCESS_KEY", "IMAGEGEN_S3_SECRET_KEY", "EMAIL_HOST_PASSWORD")


def _url_password(url) -> str:
    try:
        return urlsplit(str(url)).password or ""
    except ValueError:
        return ""


class Guard:
    def __init__(self):
        self.leaks: list[str] = []
        self.registered: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        """Guard one more secret (an API token or password a test creates) for the rest of the run."""
        self.registered[name] = value

    def secrets_in_settings(self) -> dict[str, str]:
        from django.conf import settings

        found = {name: str(getattr(settings, name, "") or "") for name in
                 ("SECRET_KEY", "VOLC_ACCESSKEY", "VOLC_SECRETKEY", "IMAGEGEN_METRICS_TOKEN")}
        options = settings.STORAGES.get("default", {}).get("OPTIONS", {})
        for key in ("access_key", "secret_key"):
            found[f"STORAGES.{key}"] = str(options.get(key) or "")
        found["DATABASES.PASSWORD"] = str(settings.DATABASES["default"].get("PASSWORD") or "")
        found["CACHES.LOCATION password"] = _url_password(settings.CACHES["default"].get("LOCATION", ""))
        found["IMAGEGEN_BROKER password"] = _url_password(getattr(settings, "IMAGEGEN_BROKER", ""))
        return self._usable({**found, **self.registered})

    def secrets_in_env(self, env: dict) -> dict[str, str]:
        found = {name: env.get(name, "") for name in _ENV_SECRETS}
        found.update({f"{name} password": _url_password(env.get(name, "")) for name in _URL_SETTINGS})
        return self._usable({**found, **self.registered})

    @staticmethod
    def _usable(found: dict[str, str]) -> dict[str, str]:
        return {name: value for name, value in found.items() if len(value) >= MIN_LENGTH}

    def scan(self, text, where: str, secrets: dict[str, str] | None = None) -> None:
        if not text:
            return
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        secrets = secrets if secrets is not None else self.secrets_in_settings()
        for name, value in secrets.items():
            if value in text:
                for other in secrets.values():  # the report names the secret, it never repeats one
                    where = where.replace(other, "<secret>")
                self.leaks.append(f"{name} in {where}")

    def scan_for_api_tokens(self, text: str, where: str) -> None:
        if _API_TOKEN.search(text):
            self.leaks.append(f"an API token in {_API_TOKEN.sub('<token>', where)}")

    def scan_files(self, paths, env: dict) -> None:
        secrets = self.secrets_in_env(env)
        for path in paths:
            path = Path(path)
            if path.is_file():
                for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                    self.scan(line, f"{path}:{number}", secrets)
                    self.scan_for_api_tokens(line, f"{path}:{number}")


guard = Guard()


class SecretsGuardMiddleware:
    """Test-only (settings_test): every response's headers and, unless streamed, its body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        where = f"the response to {request.method} {request.path}"
        guard.scan("\n".join(f"{k}: {v}" for k, v in response.items()), f"a header of {where}")
        if not getattr(response, "streaming", False):  # streamed bodies are image and zip bytes
            guard.scan(response.content, f"the body of {where}")
        return response


class SecretsGuardHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.NOTSET)
        self._formatter = logging.Formatter()

    def emit(self, record):
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not a leak
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + self._formatter.formatException(record.exc_info)
        guard.scan_for_api_tokens(text, f"a log record of {record.name!r}")
        secrets = guard.secrets_in_settings()
        if any(value in text for value in secrets.values()):
            first_line = (text.splitlines() or [""])[0]
            for value in secrets.values():
                first_line = first_line.replace(value, "<secret>")
            guard.scan(text, f"a log record of {record.name!r}: {first_line[:100]!r}", secrets)


_handler = SecretsGuardHandler()


def install_log_handler() -> None:
    """Idempotent: called before every test, since anything that runs django.setup() again (importing
    imagegen.wsgi, say) replaces the root logger's handlers."""
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger) and (logger is logging.getLogger() or not logger.propagate):
            if _handler not in logger.handlers:
                logger.addHandler(_handler)
