"""Item 5: a setting NAME comes from the file NAME_FILE names, and an empty file (docker/make-secrets.sh makes
one for every key to fill in: the Ark key, the SMTP password) leaves NAME to the environment. A deployment that
had ARK_API_KEY or EMAIL_HOST_PASSWORD in docker/.env before compose named their secret files keeps them;
a file with a value wins."""

from __future__ import annotations

from imagegen.environment import _SecretFiles


def setting(tmp_path, content: str | None, value: str | None) -> str | None:
    env = {}
    if content is not None:
        (tmp_path / "ark_api_key").write_text(content)
        env["ARK_API_KEY_FILE"] = str(tmp_path / "ark_api_key")
    if value is not None:
        env["ARK_API_KEY"] = value
    try:
        return _SecretFiles(env=env, cache=False)["ARK_API_KEY"]
    except KeyError:
        return None


def test_a_file_with_a_value_wins_and_loses_its_trailing_newline(tmp_path):
    assert setting(tmp_path, "from-the-file\n", "from-the-environment") == "from-the-file"


def test_an_empty_file_leaves_the_environment_value(tmp_path):
    assert setting(tmp_path, "", "from-the-environment") == "from-the-environment"
    assert setting(tmp_path, "\n", "from-the-environment") == "from-the-environment"


def test_an_empty_file_and_no_value_is_empty(tmp_path):
    assert setting(tmp_path, "", None) == ""
    assert setting(tmp_path, None, None) is None
