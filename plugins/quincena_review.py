"""Wiring only: the accountants' review pages (quincena.review.web) inside Airflow's UI."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from quincena.review.web import app


class QuincenaReviewPlugin(AirflowPlugin):
    name = "quincena_review"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": "/review", "name": "Revisión de la quincena"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {"name": "Revisión", "href": "/review/", "destination": "nav", "url_route": "revision", "category": "browse"},
        {"name": "Revisión de la quincena", "href": "/review/", "destination": "dag_run", "url_route": "revision_run"},
    ]
