"""Benchmark: what the access audit log costs on the create path (issue 18: at most 5 %).

    .venv/bin/python benchmarks/audit.py [--requests 40] [--rounds 9]

A fresh SQLite data directory (the embedded profile's settings: WAL, DEBUG off, the database cache), accounts
mode, one user with an API token. Complete POST /api/v1/generate requests through Django's test client
(every middleware, token authentication, validation, the quota check, the task row, the queue message),
in rounds that alternate between the full middleware stack and the same stack without the audit
middleware; prints the median per-request time of each and the median of the per-round ratios. In-process,
without HTTP or a network between client and server: the audit row's share is the largest it can be.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="requests per variant per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--aa", action="store_true", help="an A/A run: no audit log in either variant")
    args = parser.parse_args()

    os.environ.update({
        "IMAGEGEN_DATA_DIR": tempfile.mkdtemp(prefix="imagegen-bench-audit-"), "IMAGEGEN_ENGINE": "preview",
        "IMAGEGEN_ACCESS": "accounts", "DJANGO_SETTINGS_MODULE": "imagegen.settings", "LOG_LEVEL": "WARNING",
        "IMAGEGEN_CREATE_RATE": "1000000/m", "IMAGEGEN_READ_RATE": "1000000/m",
        "IMAGEGEN_DEFAULT_DAILY_IMAGES": "10000000", "IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS": "10000000",
        "IMAGEGEN_MAX_UNFINISHED_PER_CLIENT": "10000000",
    })
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.audit.models import AuditEvent
    from accounts.services import token_create, user_create

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    user = user_create(username="bench", password="correct horse battery staple")
    raw = token_create(user=user, name="bench")[1]
    body = json.dumps({"prompt": "a lighthouse at dusk", "width": 512, "height": 512})

    def client() -> Client:
        c = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert c.post("/api/v1/generate", data=body, content_type="application/json").status_code == 201
        return c

    # --aa: both variants without the audit log, to see what the method itself reads into a difference.
    if args.aa:
        with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if "AuditMiddleware" not in m]):
            with_audit = client()
    else:
        with_audit = client()
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if "AuditMiddleware" not in m]):
        without_audit = client()  # its handler keeps the middleware it loaded here

    def one(c: Client) -> float:
        started = time.perf_counter()
        response = c.post("/api/v1/generate", data=body, content_type="application/json")
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.content
        return elapsed

    from accounts.audit.services import audit_flush

    audit_flush()
    before = AuditEvent.objects.filter(kind="request").count()
    on, off, ratios = [], [], []
    for n in range(args.rounds):
        # Request by request, alternating (and which goes first alternates too): the database grows as
        # tasks are made, and each variant sees the same growth.
        round_on, round_off = [], []
        for i in range(args.requests):
            if (i + n) % 2 == 0:
                round_on.append(one(with_audit))
                round_off.append(one(without_audit))
            else:
                round_off.append(one(without_audit))
                round_on.append(one(with_audit))
        on += round_on
        off += round_off
        ratios.append(statistics.median(round_on) / statistics.median(round_off))
    audit_flush()
    recorded = AuditEvent.objects.filter(kind="request").count() - before
    assert recorded == (0 if args.aa else args.rounds * args.requests), recorded
    print(f"requests per variant per round: {args.requests}, rounds: {args.rounds}, audit rows written: {recorded}")
    print(f"with the audit log:    median {statistics.median(on) * 1000:.2f} ms per create")
    print(f"without the audit log: median {statistics.median(off) * 1000:.2f} ms per create")
    print(f"ratio (median of rounds): {statistics.median(ratios):.3f}  (rounds: {', '.join(f'{r:.3f}' for r in ratios)})")


if __name__ == "__main__":
    main()
