"""The weekly DeepSeek health report: 429s per key, spread across keys, spend vs budget, balance.

Everything comes from the ``api_calls`` ledger for one week ``[start, end)`` (Bogotá calendar
weeks, Monday 00:00), plus ``api_keys`` (why a key is disabled), ``companies`` (budgets) and the
DeepSeek balance. The figures are one JSON document: stored in ``weekly_health``, written as a CSV
and a self-contained HTML page under ``reports/weekly/<week>/``, and passed through XCom as is.

Modules: ``week`` (the reported week), ``settings`` (thresholds and budget), ``rules`` (the pure
alert decision), ``figures`` (the database queries), ``advice``, ``report`` (compute, store, CSV)
and ``html`` (the page). The DAG's steps are in ``quincena.pipeline.weekly``.
"""
