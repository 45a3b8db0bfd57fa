"""Health alerts through Airflow's notifier mechanism: always logged; also sent to a webhook, Slack
or e-mail when such a connection (or setting) exists.

Channels (environment; each is skipped quietly when not configured):

- ``QUINCENA_ALERT_WEBHOOK_CONN_ID`` (default ``quincena_alert_webhook``): an HTTP connection; the
  alert is POSTed as JSON to ``schema://host:port`` + extra ``endpoint``. Or ``QUINCENA_ALERT_WEBHOOK_URL``.
- ``QUINCENA_ALERT_SLACK_CONN_ID`` (default ``quincena_alert_slack``): a Slack incoming-webhook connection.
- ``QUINCENA_ALERT_EMAIL_TO`` (comma-separated) through the SMTP connection
  ``QUINCENA_ALERT_SMTP_CONN_ID`` (default ``smtp_default``).

A webhook URL usually embeds its token, so no URL is ever logged or returned: only connection ids.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import BaseNotifier

from quincena.core import config

log = logging.getLogger("quincena.costs.alerts")


@dataclass(frozen=True)
class AlertChannels:
    webhook_conn_id: str | None = "quincena_alert_webhook"
    webhook_url: str | None = None
    slack_conn_id: str | None = "quincena_alert_slack"
    email_to: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"
    timeout_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertChannels:
        raw = config.alert_settings(env)
        emails = tuple(a.strip() for a in (raw["email_to"] or "").split(",") if a.strip())

        def chosen(name: str, default: str | None) -> str | None:
            return default if raw[name] is None else raw[name]

        return cls(
            webhook_conn_id=chosen("webhook_conn_id", cls.webhook_conn_id) or None,
            webhook_url=raw["webhook_url"] or None,
            slack_conn_id=chosen("slack_conn_id", cls.slack_conn_id) or None,
            email_to=emails,
            smtp_conn_id=chosen("smtp_conn_id", cls.smtp_conn_id) or cls.smtp_conn_id,
        )


def should_notify(alerts: Sequence[Mapping[str, Any]]) -> bool:
    """Notify exactly when the week crossed at least one threshold (see costs.health.rules.decide_alerts)."""
    return len(alerts) > 0


def alert_text(subject: str, alerts: Sequence[Mapping[str, Any]], report: str | None) -> str:
    lines = [subject, *(f"- [{a['kind']}] {a['message']}" for a in alerts)]
    if report:
        lines.append(f"Report: {report}")
    return "\n".join(lines)


class HealthAlertNotifier(BaseNotifier):
    """Send the weekly health alerts. Usable as a callback too: ``on_failure_callback=HealthAlertNotifier(...)``.

    ``deliveries`` holds, after a call, one entry per channel tried: {"channel", "target", "status", "error"}.
    """

    # The message is data, not a template: a key or company name holding "{{" must not go through Jinja.
    template_fields: Sequence[str] = ()

    def __init__(
        self,
        subject: str,
        alerts: Sequence[Mapping[str, Any]],
        report: str | None = None,
        channels: AlertChannels | None = None,
    ) -> None:
        super().__init__()
        self.subject = subject
        self.alerts = [dict(a) for a in alerts]
        self.report = report
        self.channels = channels or AlertChannels.from_env()
        self.deliveries: list[dict[str, Any]] = []

    def notify(self, context: Any) -> None:
        text = alert_text(self.subject, self.alerts, self.report)
        for alert in self.alerts:
            log.warning("ALERT %s [%s]: %s", alert["kind"], alert["subject"], alert["message"])
        self.deliveries = [{"channel": "log", "target": "quincena.costs.alerts", "status": "sent", "error": None}]
        payload = {"text": text, "subject": self.subject, "alerts": self.alerts, "report": self.report}
        c = self.channels
        webhook = _webhook_target(c.webhook_conn_id) if c.webhook_conn_id else None
        if webhook:
            self._deliver("webhook", c.webhook_conn_id or "", lambda: _post_json(webhook, payload, c.timeout_s))
        if c.webhook_url:
            url = c.webhook_url
            self._deliver("webhook", "QUINCENA_ALERT_WEBHOOK_URL", lambda: _post_json(url, payload, c.timeout_s))
        if c.slack_conn_id and _connection(c.slack_conn_id) is not None:
            self._deliver("slack", c.slack_conn_id, lambda: _send_slack(c.slack_conn_id or "", text, c.timeout_s))
        if c.email_to and _connection(c.smtp_conn_id) is not None:
            self._deliver("email", ",".join(c.email_to), lambda: _send_email(c, self.subject, text))

    def _deliver(self, channel: str, target: str, send: Any) -> None:
        try:
            send()
        except Exception as exc:  # one channel down must not hide the alert from the others
            error = _safe_error(exc)
            log.error("alert delivery via %s (%s) failed: %s", channel, target, error)
            self.deliveries.append({"channel": channel, "target": target, "status": "failed", "error": error})
            return
        log.info("alert delivered via %s (%s)", channel, target)
        self.deliveries.append({"channel": channel, "target": target, "status": "sent", "error": None})


class DeliveryError(RuntimeError):
    pass


def _safe_error(exc: BaseException) -> str:
    # requests' messages quote the URL (and so a webhook token): keep the type and our own texts only.
    return str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__


def _connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def _webhook_target(conn_id: str) -> str | None:
    conn = _connection(conn_id)
    if conn is None or not conn.host:
        return None
    host = conn.host.rstrip("/")
    if "://" not in host:
        port = f":{conn.port}" if conn.port else ""
        host = f"{conn.schema or 'https'}://{host}{port}"
    endpoint = str((conn.extra_dejson or {}).get("endpoint") or "")
    return host + ("/" + endpoint.lstrip("/") if endpoint else "")


def _post_json(url: str, payload: Mapping[str, Any], timeout_s: float) -> None:
    import requests

    response = requests.post(url, json=payload, timeout=timeout_s)
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}")


def _send_slack(conn_id: str, text: str, timeout_s: float) -> None:
    try:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
    except ImportError:  # no Slack provider installed: an incoming webhook is a plain JSON POST
        conn = _connection(conn_id)
        secret = conn.password or ""
        host = (conn.host or "hooks.slack.com").rstrip("/")
        url = secret if secret.startswith("http") else f"https://{host}/{secret}"
        _post_json(url, {"text": text}, timeout_s)
        return
    SlackWebhookHook(slack_webhook_conn_id=conn_id, timeout=int(timeout_s)).send(text=text)


def _send_email(channels: AlertChannels, subject: str, text: str) -> None:
    import html

    from airflow.providers.smtp.hooks.smtp import SmtpHook

    body = "<pre>" + html.escape(text) + "</pre>"
    with SmtpHook(smtp_conn_id=channels.smtp_conn_id) as hook:
        hook.send_email_smtp(to=list(channels.email_to), subject=subject, html_content=body)


def notify_step(summary: Mapping[str, Any], context: Any = None, channels: AlertChannels | None = None) -> dict:
    """The DAG's alert task: fire the notifier when the report crossed a threshold, log either way.

    Fails (so the run shows red) only when every configured outside channel failed to deliver.
    """
    alerts = summary.get("alerts") or []
    week = summary["week"]["week"]
    if not should_notify(alerts):
        log.info("weekly health %s: no threshold crossed, no alert", week)
        return {"fired": False, "alerts": 0, "deliveries": []}
    subject = f"quincena: DeepSeek weekly health {week}: {len(alerts)} alert(s)"
    notifier = HealthAlertNotifier(subject, alerts, summary.get("html"), channels)
    notifier(context if context is not None else {})
    outside = [d for d in notifier.deliveries if d["channel"] != "log"]
    if outside and all(d["status"] == "failed" for d in outside):
        raise RuntimeError(f"weekly health {week}: every alert channel failed: {outside}")
    return {"fired": True, "alerts": len(alerts), "deliveries": notifier.deliveries}
