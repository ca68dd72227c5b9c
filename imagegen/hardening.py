"""Secure by default, at start-up (imagegen/startup.py, which every process the product starts runs once
Django is set up: manage.py and its commands, gunicorn's workers, uvicorn, the qcluster; the open-mode
check runs in settings).

- umask 027: nothing written under the data directory is readable by other users. A second service that
  must read files (nginx serving images in Docker) does so through the shared group.
- Files left world-readable by older versions are tightened once per data directory.
- Open mode (no sign-in) served beyond loopback refuses to start unless IMAGEGEN_ACCESS=open is explicit.

Nothing here imports Django's settings: it runs while they are being built.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

UMASK = 0o027
# Written once a data directory has been tightened; its name carries the version of the rule.
TIGHTENED_MARKER = ".modes-027"


def restrict_umask() -> None:
    """At least umask 027 for this process and every child it starts (a stricter one is kept)."""
    current = os.umask(UMASK)
    os.umask(current | UMASK)


def tighten(*roots: Path) -> int:
    """Take every permission of "other" from the files and directories under `roots` (group bits stay:
    the shared group is how a second service reads). Done once per root; returns how many paths changed."""
    changed = 0
    for root in roots:
        root = Path(root)
        if not root.is_dir() or (root / TIGHTENED_MARKER).exists():
            continue
        for path in [root, *root.rglob("*")]:
            try:
                mode = path.lstat().st_mode
                if stat.S_ISLNK(mode) or not mode & 0o007:
                    continue
                path.chmod(stat.S_IMODE(mode) & ~0o007)
                changed += 1
            except OSError:
                continue  # removed meanwhile, or not ours: nothing to tighten
        try:
            (root / TIGHTENED_MARKER).touch()
        except OSError:
            pass
    return changed


def outermost(*roots: Path) -> list[Path]:
    """The roots that are not inside another of them."""
    resolved = [Path(r).resolve() for r in roots]
    return [r for i, r in enumerate(resolved)
            if r not in resolved[:i] and not any(o != r and r.is_relative_to(o) for o in resolved)]


def write_private(path: Path, text: str) -> bool:
    """Create `path` as 0600 with `text` in one step (never briefly readable by others); False when it
    already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
    return True


LOOPBACK_NAMES = {"localhost", "localhost."}


def is_loopback(host: str) -> bool:
    """True for a loopback address or name ("127.0.0.1", "[::1]", "localhost", "*.localhost")."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenModeExposed(Exception):
    pass


def refuse_exposed_open_mode(*, access: str, explicit: bool, hosts) -> None:
    """Open mode lets anyone generate (billed to the operator), read and delete everything: served on an
    address or name beyond loopback it needs IMAGEGEN_ACCESS=open spelled out. `hosts` are the bind
    addresses and ALLOWED_HOSTS entries in use."""
    if access != "open" or explicit:
        return
    exposed = sorted({h for h in hosts if h and not is_loopback(h)})
    if exposed:
        raise OpenModeExposed(
            "imagegen refuses to start: open mode (no sign-in; anyone may generate, read and delete) would be "
            f"served beyond loopback ({', '.join(exposed)}). Set IMAGEGEN_ACCESS=accounts to require sign-in, "
            "or IMAGEGEN_ACCESS=open to serve open mode on purpose."
        )
