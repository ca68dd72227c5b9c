"""The webhook address policy, on the addresses a name actually resolves to (a resolver the test injects:
no real DNS lookup leaves the machine). Every refused class is refused before any socket is opened; a name
that resolves to a refused address is refused as its literal form is; a redirect is not followed. No test
here opens a connection anywhere: socket.connect is replaced by one that records the attempt and refuses it."""

from __future__ import annotations

import socket

import pytest

from core import outbound
from generation import webhook_sender

REFUSED = [
    "127.0.0.1", "127.8.9.10", "::1", "0.0.0.0", "::", "169.254.169.254", "169.254.1.1", "fe80::1",
    "10.1.2.3", "172.16.5.4", "192.168.1.1", "fc00::1", "fd12:3456::1", "100.64.0.1", "224.0.0.1", "ff02::1",
    "240.0.0.1", "255.255.255.255", "192.0.2.10", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",
]


@pytest.fixture
def no_connections(monkeypatch):
    """No connection is ever made: an attempt is recorded (the tests assert there was none, where the policy
    must refuse first) and refused as a closed port would be."""
    opened = []

    def refuse(self, address):
        opened.append(address)
        raise ConnectionRefusedError(f"the test refuses every connection ({address})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return opened


def resolving_to(*addresses):
    def resolver(host, port, *args, **kwargs):
        answers = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            answers.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return answers

    return resolver


def send(url="https://hooks.example.com/in", resolver=None):
    return webhook_sender.send(url=url, body=b"{}", headers={}, resolver=resolver)


@pytest.mark.parametrize("address", REFUSED)
def test_a_name_resolving_to_a_refused_address_is_refused_before_any_connection(address, no_connections, settings):
    settings.IMAGEGEN_WEBHOOK_ALLOW_NETWORKS = []
    answer = send(resolver=resolving_to(address))
    assert answer.refused and answer.status is None and answer.error.startswith("refused: ")
    assert no_connections == []


@pytest.mark.parametrize("address", REFUSED)
def test_a_literal_refused_address_is_refused_when_the_request_is_made(address, settings):
    settings.IMAGEGEN_WEBHOOK_ALLOW_NETWORKS = []
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(outbound.RefusedURL):
        outbound.check_url(f"https://{host}/in")


def test_a_name_with_one_public_and_one_private_answer_is_refused(no_connections):
    answer = send(resolver=resolving_to("93.184.215.14", "10.0.0.7"))
    assert answer.refused and no_connections == []


def test_a_public_answer_is_connected_to_that_address_and_no_other(no_connections):
    # The connection is attempted to the address the resolver gave (and the test stops it there).
    answer = send(resolver=resolving_to("93.184.215.14"))
    assert not answer.refused and answer.status is None
    assert [a[0] for a in no_connections] == ["93.184.215.14"]


def test_http_is_refused_unless_the_setting_allows_it(settings):
    settings.IMAGEGEN_WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(outbound.RefusedURL, match="scheme"):
        outbound.check_url("http://hooks.example.com/in")
    settings.IMAGEGEN_WEBHOOK_ALLOW_HTTP = True
    outbound.check_url("http://hooks.example.com/in")


@pytest.mark.parametrize("url", ["https://user:secret-pass@hooks.example.com/in", "ftp://hooks.example.com/in",
                                 "javascript:alert(1)", "https:///no-host", "https://hooks.example.com:0/in"])
def test_urls_that_are_not_plain_https_urls_are_refused_and_the_reason_never_repeats_them(url):
    with pytest.raises(outbound.RefusedURL) as refused:
        outbound.check_url(url)
    assert "secret-pass" not in str(refused.value)


def test_the_setting_allows_the_networks_it_names_and_only_those(settings, no_connections):
    settings.IMAGEGEN_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.0/8"]
    outbound.check_url("https://127.0.0.1:8443/in")
    with pytest.raises(outbound.RefusedURL):
        outbound.check_url("https://10.0.0.1/in")
    with pytest.raises(outbound.RefusedURL):
        outbound.check_url("https://[::1]/in")
    assert send(resolver=resolving_to("169.254.169.254")).refused and no_connections == []
