"""The write-ahead ledger protocol: begin (in_flight) before the request, finish after it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from deepseek_provider.ledger import IN_FLIGHT, AttemptRecord, CallRecorder, InMemoryCallRecorder, NullCallRecorder


def _ahead(**changes) -> AttemptRecord:
    record = AttemptRecord(
        attempt_id=uuid.uuid4(), call_id=uuid.uuid4(), attempt_no=1, started_at=datetime.now(UTC),
        key_name="k1", model="deepseek-v4-flash", outcome=IN_FLIGHT, status_code=None, error_class=None, latency_ms=0,
    )  # fmt: skip
    return replace(record, **changes)


def test_in_memory_recorder_begins_then_finishes_in_place() -> None:
    recorder = InMemoryCallRecorder()
    first, second = _ahead(), _ahead(key_name="k2")
    recorder.begin(first)
    recorder.begin(second)
    recorder.begin(first)  # a repeated begin changes nothing
    assert [r.outcome for r in recorder.records] == [IN_FLIGHT, IN_FLIGHT]
    done = replace(first, outcome="ok", status_code=200, completion_tokens=10, cost_usd=Decimal("0.01"))
    recorder.finish(done)
    recorder.finish(replace(done, outcome="server_error"))  # finishing twice changes nothing either
    assert recorder.records == [done, second]  # completed in place; the other is still visibly in flight
    lone = replace(_ahead(), outcome="rate_limited", status_code=429)
    recorder.finish(lone)  # finish without begin (begin failed): inserted whole
    assert recorder.records[-1] == lone and len(recorder.records) == 3


def test_in_memory_recorder_stays_bounded() -> None:
    recorder = InMemoryCallRecorder(maxlen=3)
    records = [_ahead() for _ in range(5)]
    for record in records:
        recorder.begin(record)
    assert recorder.records == records[2:]


def test_recorders_follow_the_protocol() -> None:
    assert isinstance(InMemoryCallRecorder(), CallRecorder) and isinstance(NullCallRecorder(), CallRecorder)
    NullCallRecorder().begin(_ahead())
    NullCallRecorder().finish(_ahead())
