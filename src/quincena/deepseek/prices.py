"""The one DeepSeek price table of the project: billing, the weekly report and reconciliation read it here.

Which table: ``QUINCENA_PRICE_TABLE`` when set, else ``include/prices.json``, else the table shipped
with the provider. The parser is the provider's own (``PriceTable``).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from quincena.core import config


def table_path() -> Path | None:
    """QUINCENA_PRICE_TABLE, else include/prices.json, else None (the provider's shipped table)."""
    override = config.price_table_override()
    if override is not None:
        return override
    path = config.include_dir() / "prices.json"
    return path if path.is_file() else None


def _data() -> tuple[dict[str, Any], str]:
    """The table's JSON and how to name it in an error line."""
    from deepseek_provider.exceptions import ConfigurationError

    path = table_path()
    if path is None:
        text = resources.files("deepseek_provider").joinpath("prices.json").read_text(encoding="utf-8")
        return json.loads(text), "price table deepseek_provider/prices.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")), f"price table {path}"
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read DeepSeek price table {path}: {exc}") from None


def load_with_unit() -> tuple[Any, int]:
    """The configured PriceTable and its unit (tokens per price)."""
    from deepseek_provider.pricing import PriceTable

    data, name = _data()
    return PriceTable.from_dict(data, name), int(data.get("unit_tokens", 1_000_000))


def load() -> Any:
    """The configured PriceTable."""
    return load_with_unit()[0]
