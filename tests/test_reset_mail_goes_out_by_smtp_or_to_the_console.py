"""Item 7: password-reset mail goes out through Django's SMTP settings (EMAIL_HOST and the rest, the password
also from EMAIL_HOST_PASSWORD_FILE, as the Docker deployment hands it over), and without EMAIL_HOST through the console backend, so that `make run`
prints it in its terminal. Each case runs `manage.py` as its own process, as an operator's would."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import threading

from .test_secure_by_default import ROOT, env_for

SEND = ("from django.core.mail import send_mail; "
        "send_mail('Password reset on imagegen', 'the-reset-link-body', None, ['alice@example.com'])")


def manage_shell(env, script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


class SmtpReceiver:
    """The least of an SMTP server, on a free local port: it keeps what each DATA carried."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.messages: list[str] = []
        self.credentials: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rwb") as stream:
            def say(line: str):
                stream.write(line.encode() + b"\r\n")
                stream.flush()

            say("220 test ESMTP")
            while line := stream.readline():
                words = line.decode().strip().split(" ")
                verb = words[0].upper()
                if verb == "EHLO":
                    say("250-test")
                    say("250 AUTH PLAIN")
                elif verb == "AUTH":
                    self.credentials = base64.b64decode(words[2]).split(b"\0")[1:]
                    say("235 signed in")
                elif verb == "DATA":
                    say("354 go on")
                    body = []
                    while (data := stream.readline()) not in (b".\r\n", b""):
                        body.append(data.decode())
                    self.messages.append("".join(body))
                    say("250 kept")
                elif verb == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 ok")

    def close(self):
        self.listener.close()


def test_with_an_smtp_server_configured_the_mail_goes_to_it_signed_in_with_the_password_from_a_file(tmp_path):
    secret = tmp_path / "email_host_password"
    secret.write_text("smtp-password-from-a-docker-secret\n")
    receiver = SmtpReceiver()
    try:
        env = env_for(tmp_path / "data", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(receiver.port), EMAIL_USE_TLS="false",
                      EMAIL_HOST_USER="imagegen", EMAIL_HOST_PASSWORD_FILE=str(secret),
                      DEFAULT_FROM_EMAIL="imagegen <noreply@imagegen.example.com>")
        result = manage_shell(env, SEND)
        assert result.returncode == 0, result.stderr
        receiver.thread.join(timeout=30)
    finally:
        receiver.close()
    assert receiver.credentials == [b"imagegen", b"smtp-password-from-a-docker-secret"]
    [message] = receiver.messages
    assert "Subject: Password reset on imagegen" in message and "the-reset-link-body" in message
    assert "From: imagegen <noreply@imagegen.example.com>" in message
    assert "the-reset-link-body" not in result.stdout


def test_without_an_smtp_server_the_mail_is_printed_where_make_run_shows_it(tmp_path):
    result = manage_shell(env_for(tmp_path), SEND)
    assert result.returncode == 0, result.stderr
    assert "Subject: Password reset on imagegen" in result.stdout and "the-reset-link-body" in result.stdout
