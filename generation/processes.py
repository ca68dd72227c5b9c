"""Who holds a lease: "<host>:<pid>:<token>". On the holder's own machine a dead process is detectable
at once; elsewhere only the lease's expiry tells."""

from __future__ import annotations

import os
import socket
import uuid


def new_lease_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_dead(holder: str) -> bool:
    """True only when the lease holder ran on this machine and its process no longer exists."""
    try:
        host, pid, _token = holder.rsplit(":", 2)
        pid = int(pid)
    except ValueError:
        return False
    return host == socket.gethostname() and not _pid_alive(pid)
