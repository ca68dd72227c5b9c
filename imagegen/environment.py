"""How settings read the environment: `Env` (django-environ) where every setting NAME can also come from the
file named by NAME_FILE (Docker secrets), and the secret key generated once into the data directory when the
environment gives none."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from imagegen import hardening


class _SecretFiles(environ.FileAwareMapping):
    """Every setting NAME can come from the file named by NAME_FILE (Docker secrets); a trailing newline
    in the file is not part of the value. An empty file (docker/make-secrets.sh makes one for each key to
    fill in) leaves NAME to the environment, as if there were no file."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        if not self.env.get(key + "_FILE"):
            return value
        value = value.rstrip("\r\n")
        if not value and key in self.env:
            return self.env[key]
        return value


class Env(environ.Env):
    ENVIRON = _SecretFiles()


def generated_secret_key(data_dir: Path) -> str:
    """The key in `data_dir`/secret_key, generated there the first time."""
    data_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    key_file = data_dir / "secret_key"
    # Created 0600 in one step (O_EXCL: two processes starting together must not write two different keys).
    hardening.write_private(key_file, secrets.token_urlsafe(50))
    return key_file.read_text(encoding="ascii").strip()


def mailers(env: Env, *, data_dir: Path) -> dict:
    """Django 6.1's MAILERS from the EMAIL_* variables: SMTP when EMAIL_HOST is set, else the console backend
    (make run prints the message in its terminal). EMAIL_HOST_PASSWORD can come from EMAIL_HOST_PASSWORD_FILE."""
    host = env.str("EMAIL_HOST", default="")
    backend = env.str("EMAIL_BACKEND", default="smtp" if host else "console")
    backend = {"smtp": "django.core.mail.backends.smtp.EmailBackend",
               "console": "django.core.mail.backends.console.EmailBackend",
               "file": "django.core.mail.backends.filebased.EmailBackend"}.get(backend, backend)
    options = {}
    if backend.endswith("smtp.EmailBackend"):
        options = {"host": host, "port": env.int("EMAIL_PORT", default=587),
                   "username": env.str("EMAIL_HOST_USER", default=""),
                   "password": env.str("EMAIL_HOST_PASSWORD", default=""),
                   "use_ssl": env.bool("EMAIL_USE_SSL", default=False),
                   "timeout": env.int("EMAIL_TIMEOUT", default=10)}
        options["use_tls"] = env.bool("EMAIL_USE_TLS", default=not options["use_ssl"])
    elif backend.endswith("filebased.EmailBackend"):
        options = {"file_path": env.str("EMAIL_FILE_PATH", default=str(data_dir / "mail"))}
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


def s3_storage(env: Env) -> dict:
    """The default storage in S3-compatible object storage (VolcEngine TOS, Aliyun OSS, MinIO, AWS S3)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("IMAGEGEN_S3_BUCKET"),
            "endpoint_url": env.str("IMAGEGEN_S3_ENDPOINT_URL", default="") or None,
            "access_key": env.str("IMAGEGEN_S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("IMAGEGEN_S3_SECRET_KEY", default="") or None,
            "region_name": env.str("IMAGEGEN_S3_REGION", default="") or None,
            "addressing_style": env.str("IMAGEGEN_S3_ADDRESSING_STYLE", default="") or None,  # path | virtual
            "location": env.str("IMAGEGEN_S3_PREFIX", default=""),
            "querystring_expire": env.int("IMAGEGEN_S3_PRESIGN_SECONDS", default=300),
            "default_acl": None,
            "file_overwrite": True,
            "signature_version": "s3v4",
        },
    }


def check_networks(networks: list[str]) -> None:
    """Each entry of the IP allowlists is a network (CIDR, IPv4 or IPv6)."""
    for network in networks:
        try:
            ipaddress.ip_network(network.strip(), strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"IMAGEGEN_ALLOWED_NETWORKS / IMAGEGEN_STAFF_ALLOWED_NETWORKS: {network!r} is not a network (CIDR)"
            ) from None
