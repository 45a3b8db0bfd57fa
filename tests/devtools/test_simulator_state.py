"""The simulated account without HTTP: admission, authentication and accounting decisions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quincena.devtools.simulator import SimulatorConfig
from quincena.devtools.simulator.state import RequestError, SimulatorState

SECRET = "sk-state-test-0123456789abcdef"


def _state(**knobs) -> SimulatorState:
    return SimulatorState(SimulatorConfig(keys={"contab-1": SECRET}, latency_ms=0, seed=1).updated(knobs))


def test_admission_follows_the_script_then_the_concurrency_limit() -> None:
    state = _state(concurrency=1, script=["503", "blank"])
    with pytest.raises(RequestError) as rejected:
        state.admit()
    assert rejected.value.status == 503 and state.in_flight == 0  # a rejection holds no slot
    admitted = state.admit()
    assert (admitted.fault, admitted.latency_s, state.in_flight) == ("blank", 0.0, 1)
    with pytest.raises(RequestError) as over:
        state.admit()
    assert over.value.status == 429
    state.release()
    assert state.admit().fault == "ok"
    assert state.stats()["faults"] == {"scripted_503": 1, "blank": 1, "over_concurrency": 1}
    assert state.stats()["max_in_flight"] == 1


def test_reset_keeps_requests_still_in_flight_so_the_gauge_never_goes_negative() -> None:
    state = _state(concurrency=2)
    state.admit()
    state.reset()  # between two tests, while the first test's request is still being answered
    assert (state.stats()["in_flight"], state.wait_idle(timeout=0)) == (1, False)
    state.release()
    assert state.stats()["in_flight"] == 0 and state.wait_idle(timeout=0)


def test_authentication_names_the_key_and_never_echoes_a_secret() -> None:
    state = _state()
    assert state.authenticate(f"Bearer {SECRET}") == "contab-1"
    with pytest.raises(RequestError) as unknown:
        state.authenticate("Bearer sk-someone-elses-key-9999")
    assert unknown.value.status == 401 and unknown.value.key_name is None
    assert "sk-someone" not in str(unknown.value) and "****9999" in str(unknown.value)
    state.configure({"revoked_keys": ["contab-1"]})
    with pytest.raises(RequestError) as revoked:
        state.authenticate(f"Bearer {SECRET}")
    assert (revoked.value.status, revoked.value.key_name) == (401, "contab-1")
    assert SECRET not in str(revoked.value)
    assert state.stats()["unauthorized"] == 1  # a revoked key is known, not unauthorized


def test_prefix_cache_and_billing_reach_the_spend_limit() -> None:
    state = _state(spend_limit_usd="0.0001")
    prompt = "x" * 4 * 64 * 3  # three whole cache units
    assert state.prompt_tokens(prompt) == (0, 192)
    assert state.prompt_tokens(prompt + "tail") == (192, 1)
    state.bill(192, 1, 10, 0)
    expected = (192 * Decimal("0.0028") + Decimal("0.14") + 10 * Decimal("0.28")) / 1_000_000
    assert state.spend == expected
    assert state.balance() == Decimal("0.0001") - expected
    state.bill(0, 1000, 0, 0)
    with pytest.raises(RequestError) as broke:
        state.authenticate(f"Bearer {SECRET}")
    assert broke.value.status == 402 and state.balance() == 0
    state.topup(Decimal(1))
    assert state.authenticate(f"Bearer {SECRET}") == "contab-1"
