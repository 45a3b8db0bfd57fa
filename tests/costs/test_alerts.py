"""The weekly health notifier: webhook delivery, quiet weeks, failures that never leak a URL."""

from __future__ import annotations

import json

import pytest

from quincena.costs import alerts
from tests.costs import health_seed

W45 = "2026-W45"

# -- the notifier ------------------------------------------------------------------------------
ALERTS = [{"kind": "rate_429", "subject": "account", "value": "19.05%", "threshold": "5.00%", "message": "429s!"}]
SUMMARY = {"week": {"week": W45}, "alerts": ALERTS, "html": "/reports/weekly/2026-W45/weekly_health.html"}


def test_notifier_posts_to_the_webhook_connection_and_logs(monkeypatch, caplog) -> None:
    with health_seed.webhook_server() as server:
        monkeypatch.setenv("AIRFLOW_CONN_QUINCENA_ALERT_WEBHOOK", health_seed.webhook_connection(server))
        result = alerts.notify_step(SUMMARY)
    assert result["fired"] is True and result["alerts"] == 1
    assert [(d["channel"], d["status"]) for d in result["deliveries"]] == [("log", "sent"), ("webhook", "sent")]
    (post,) = server.received
    assert post["path"] == "/hooks/T0K3N-secret"
    assert post["body"]["alerts"] == ALERTS and "429s!" in post["body"]["text"]
    assert "ALERT rate_429 [account]: 429s!" in caplog.text
    assert "T0K3N" not in caplog.text and "T0K3N" not in json.dumps(result)  # the URL's token stays secret


def test_notifier_is_quiet_when_nothing_crossed(monkeypatch) -> None:
    with health_seed.webhook_server() as server:
        monkeypatch.setenv("AIRFLOW_CONN_QUINCENA_ALERT_WEBHOOK", health_seed.webhook_connection(server))
        result = alerts.notify_step({**SUMMARY, "alerts": []})
    assert result == {"fired": False, "alerts": 0, "deliveries": []}
    assert server.received == []


def test_notifier_without_channels_only_logs(monkeypatch, caplog) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_QUINCENA_ALERT_WEBHOOK", raising=False)
    result = alerts.notify_step(SUMMARY, channels=alerts.AlertChannels(email_to=("x@example.com",)))
    assert [d["channel"] for d in result["deliveries"]] == ["log"]  # no smtp_default connection: no e-mail
    assert "ALERT rate_429" in caplog.text


def test_failed_delivery_fails_the_task_without_leaking_the_url(monkeypatch, caplog) -> None:
    with health_seed.webhook_server(status=500) as server:
        monkeypatch.setenv("AIRFLOW_CONN_QUINCENA_ALERT_WEBHOOK", health_seed.webhook_connection(server))
        with pytest.raises(RuntimeError, match="every alert channel failed") as failure:
            alerts.notify_step(SUMMARY)
    assert len(server.received) == 1
    assert "HTTP 500" in str(failure.value) and "T0K3N" not in str(failure.value) + caplog.text


def test_notifier_is_an_airflow_base_notifier() -> None:
    from airflow.sdk import BaseNotifier

    notifier = alerts.HealthAlertNotifier("subject", ALERTS, channels=alerts.AlertChannels(None, None, None))
    assert isinstance(notifier, BaseNotifier)
    notifier({})  # the callback protocol: called with a context
    assert notifier.deliveries == [
        {"channel": "log", "target": "quincena.costs.alerts", "status": "sent", "error": None}
    ]
