"""The connection options: one definition behind the UI form, the parser and the defaults."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from deepseek_provider.connection import (
    API_KEYS,
    CONN_OPTIONS,
    DEFAULT_BASE_URL,
    SETTING_OPTIONS,
    HookSettings,
    secrets_of,
    settings_of,
)
from deepseek_provider.exceptions import ConfigurationError, NoUsableKeyError
from deepseek_provider.get_provider_info import get_provider_info


@dataclass
class Conn:
    """The attributes of an Airflow connection the parser reads (the provider's tests need no Airflow)."""

    host: str | None = None
    schema: str | None = None
    port: int | None = None
    password: str | None = None
    extra: dict[str, Any] | str = field(default_factory=dict)


def _form() -> dict[str, Any]:
    (conn_type,) = get_provider_info()["connection-types"]
    return conn_type["conn-fields"]


def _non_default(option) -> Any:
    """A value unlike the default, written the way the UI form stores it (text)."""
    if option.kind is str:
        return f"{option.name}-value"
    return str(option.kind((option.default or 0) * 3 + 7))


def test_form_parser_and_defaults_agree() -> None:
    form = _form()
    settings_fields = {f.name for f in dataclasses.fields(HookSettings)}
    # Every form field is either the API keys or a setting, and every setting but base_url (the host) is a field.
    assert set(form) == {option.name for option in CONN_OPTIONS}
    assert set(form) - {API_KEYS.name} == settings_fields - {"base_url"}
    defaults = HookSettings()
    for option in SETTING_OPTIONS:
        schema = form[option.name]["schema"]
        assert schema["type"][0] == {str: "string", float: "number", int: "integer"}[option.kind], option.name
        form_default = schema.get("default")
        parsed_default = None if form_default is None else option.parse(form_default)
        assert parsed_default == getattr(defaults, option.name) == option.default, option.name
        assert form[option.name]["label"] and form[option.name]["description"], option.name
    assert form[API_KEYS.name]["schema"]["format"] == "password"
    # An empty connection parses to exactly the defaults.
    assert settings_of(Conn()) == defaults and defaults.base_url == DEFAULT_BASE_URL


def test_every_form_field_is_parsed() -> None:
    values = {option.name: _non_default(option) for option in SETTING_OPTIONS}
    settings = settings_of(Conn(extra=values))
    for option in SETTING_OPTIONS:
        parsed = getattr(settings, option.name)
        assert parsed == option.parse(values[option.name]) != option.default, option.name
        assert type(parsed) is option.kind, option.name


def test_older_forms_prefixed_names_and_blank_fields() -> None:
    extra = {"extra__deepseek__deadline": "30", "model": "", "extra__deepseek__pool_size": "4"}
    settings = settings_of(Conn(extra=json.dumps(extra)))
    assert (settings.deadline, settings.pool_size, settings.model) == (30.0, 4, HookSettings().model)


@pytest.mark.parametrize(
    ("conn", "base_url"),
    [
        (Conn(host="api.example.test/"), "https://api.example.test"),
        (Conn(host="127.0.0.1", schema="http", port=8081), "http://127.0.0.1:8081"),
        (Conn(host="http://127.0.0.1:9/"), "http://127.0.0.1:9"),
        (Conn(host="  "), DEFAULT_BASE_URL),
    ],
)
def test_base_url_from_the_host(conn: Conn, base_url: str) -> None:
    assert settings_of(conn).base_url == base_url


def test_non_positive_budgets_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        settings_of(Conn(extra={"deadline": "0"}))
    with pytest.raises(ConfigurationError):
        settings_of(Conn(extra={"timeout": -1}))


def test_keys_from_the_extra_and_the_password() -> None:
    text = json.dumps({"a": " sk-aaaaaaaaaaaa "})
    assert secrets_of(Conn(extra={"api_keys": text}), "ds") == {"a": "sk-aaaaaaaaaaaa"}
    both = secrets_of(Conn(extra={"api_keys": {"a": "sk-a"}}, password="sk-single"), "ds")  # noqa: S106
    assert both == {"a": "sk-a", "ds": "sk-single"}  # the password's key is named after the connection
    with pytest.raises(ConfigurationError):
        secrets_of(Conn(extra={"api_keys": "not json"}), "ds")
    with pytest.raises(ConfigurationError):
        secrets_of(Conn(extra={"api_keys": {"a": ""}}), "ds")
    with pytest.raises(NoUsableKeyError):
        secrets_of(Conn(), "ds")


def test_settings_never_hold_a_secret() -> None:
    settings = settings_of(Conn(extra={"api_keys": {"a": "sk-secret-123"}}, password="sk-secret-456"))  # noqa: S106
    assert "sk-secret" not in repr(settings)


def test_readme_table_lists_every_option_with_its_default() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in readme.splitlines() if line.startswith("| `")}
    for option in CONN_OPTIONS:
        default = option.form_field()["schema"].get("default")
        cells = [cell.strip() for cell in rows[option.name].split("|")]
        assert cells[2].startswith(option.label) and cells[4] == ("—" if default is None else f"`{default}`")


@pytest.mark.parametrize(
    "secret",
    ["sk-abc\ndef0123456789", "sk-abc\x00def0123456789", "sk-abc\tdef0123456789", "sk-clé-0123456789", "sk-a b"],
)
def test_a_key_with_control_or_non_ascii_characters_is_rejected_by_name(secret: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        secrets_of(Conn(extra={"api_keys": {"contab-7": secret}}), "ds")
    message = str(caught.value)
    assert "contab-7" in message and "control" in message and "non-ASCII" in message
    assert secret not in message and secret[:6] not in message and secret[-8:] not in message
    with pytest.raises(ConfigurationError) as caught:  # the single-key password too, named after the connection
        secrets_of(Conn(password=secret), "ds_single")
    assert "ds_single" in str(caught.value) and secret[-8:] not in str(caught.value)


def test_a_key_with_surrounding_blanks_is_still_accepted() -> None:
    assert secrets_of(Conn(extra={"api_keys": {"k": "  sk-fine-0123456789\n"}}), "ds") == {"k": "sk-fine-0123456789"}
