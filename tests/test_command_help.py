"""Every operator command explains itself with --help and exits 0."""

import pytest
from django.core.management import call_command

COMMANDS = ["generate", "cleanup", "backup", "restore", "queue_status", "check_engine", "adduser", "create_token"]


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command(name, "--help")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert f"manage.py {name}" in out or "usage:" in out
    assert len(out) > 200
