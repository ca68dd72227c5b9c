"""The per-client lock (queueing.lock_client): on PostgreSQL an advisory transaction lock on the client's own
key, so two requests of one client count its unfinished tasks one after the other; SQLite's IMMEDIATE
transaction already serialises writers, so nothing is sent there."""

from types import SimpleNamespace

from generation import queueing


class Cursor:
    def __init__(self, sent):
        self.sent = sent

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params):
        self.sent.append((sql, params))


def test_postgresql_takes_an_advisory_lock_on_the_client_s_key(monkeypatch):
    sent = []
    monkeypatch.setattr(queueing, "connection", SimpleNamespace(vendor="postgresql", cursor=lambda: Cursor(sent)))
    queueing.lock_client("user:42")
    queueing.lock_client("ip:10.0.0.1")
    assert sent == [("SELECT pg_advisory_xact_lock(hashtext(%s))", ["imagegen-client:user:42"]),
                    ("SELECT pg_advisory_xact_lock(hashtext(%s))", ["imagegen-client:ip:10.0.0.1"])]


def test_sqlite_sends_nothing(monkeypatch):
    sent = []
    monkeypatch.setattr(queueing, "connection", SimpleNamespace(vendor="sqlite", cursor=lambda: Cursor(sent)))
    queueing.lock_client("user:42")
    assert sent == []
