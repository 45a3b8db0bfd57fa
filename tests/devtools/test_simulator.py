"""The DeepSeek simulator on the wire: DeepSeek's shapes, one account-wide limit, cache, faults, admin."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from quincena.cli import build_parser
from quincena.cli.simulator import knobs_from_args
from quincena.core import puc
from quincena.devtools.simulator import SimulatorConfig, start_simulator
from quincena.devtools.simulator.classifier import OFF_CATALOG_ACCOUNTS, classify_line
from tests.fixtures.simulator import SIM_KEYS

SECRET = SIM_KEYS["sim-key-1"]


def _chat(
    base_url: str,
    body: dict[str, Any] | None = None,
    secret: str = SECRET,
    path: str = "/chat/completions",
    timeout: float | tuple[float, float] = 10,
) -> requests.Response:
    body = body or {"model": "deepseek-v4-flash", "messages": [{"role": "user", "content": "hola"}]}
    return requests.post(base_url + path, json=body, headers={"Authorization": f"Bearer {secret}"}, timeout=timeout)


def _items(*descriptions: str) -> dict[str, Any]:
    items = [
        {"id": str(i), "description": d, "supplier_name": "", "amount": "1000.00"} for i, d in enumerate(descriptions)
    ]
    return {
        "model": "deepseek-v4-flash",
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": "Clasifica en el PUC y responde json."},
            {"role": "user", "content": json.dumps({"items": items}, ensure_ascii=False)},
        ],
    }


def test_response_has_deepseek_shape_and_usage(simulator) -> None:
    for path in ("/chat/completions", "/v1/chat/completions"):
        response = _chat(simulator.base_url, path=path)
        assert response.status_code == 200
        data = response.json()
        assert data["object"] == "chat.completion" and data["model"] == "deepseek-v4-flash"
        assert data["choices"][0]["finish_reason"] == "stop" and data["choices"][0]["message"]["role"] == "assistant"
        usage = data["usage"]
        assert usage["prompt_tokens"] == usage["prompt_cache_hit_tokens"] + usage["prompt_cache_miss_tokens"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert usage["prompt_tokens_details"]["cached_tokens"] == usage["prompt_cache_hit_tokens"]


def test_unknown_or_revoked_key_is_401(simulator) -> None:
    assert _chat(simulator.base_url, secret="sk-nobody").status_code == 401
    simulator.configure(revoked_keys=["sim-key-1"])
    response = _chat(simulator.base_url)
    assert response.status_code == 401 and "error" in response.json()
    assert SECRET not in response.text  # like DeepSeek, only the last characters are echoed
    assert _chat(simulator.base_url, secret=SIM_KEYS["sim-key-2"]).status_code == 200


def test_bad_bodies_are_400_and_bad_parameters_422(simulator) -> None:
    assert _chat(simulator.base_url, {"model": "deepseek-v4-flash", "messages": []}).status_code == 400
    assert (
        _chat(simulator.base_url, {"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}).status_code == 400
    )
    body = {"model": "deepseek-v4-flash", "messages": [{"role": "user", "content": "x"}], "temperature": 3}
    assert _chat(simulator.base_url, body).status_code == 422


def test_one_concurrency_limit_for_the_whole_account(simulator) -> None:
    simulator.configure(concurrency=3, latency_ms=300, latency_sd_ms=0, keepalive_interval_s=1.0)
    secrets = list(SIM_KEYS.values())  # eight requests spread over five keys
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: _chat(simulator.base_url, secret=secrets[i % 5]).status_code, range(8)))
    assert sorted(codes) == [200] * 3 + [429] * 5
    stats = simulator.settled_stats()
    assert stats["max_in_flight"] == 3 and stats["faults"]["over_concurrency"] == 5 and stats["in_flight"] == 0


def test_prefix_cache_hits_in_whole_64_token_units(simulator) -> None:
    system = {"role": "system", "content": "x" * 1000}  # 'system: ' + 1000 chars + newline = 1009 chars

    def usage(user: str) -> dict[str, int]:
        body = {"model": "deepseek-v4-flash", "messages": [system, {"role": "user", "content": user}]}
        return _chat(simulator.base_url, body).json()["usage"]

    first, second = usage("primera"), usage("segunda")
    assert first["prompt_cache_hit_tokens"] == 0
    assert second["prompt_cache_hit_tokens"] == 192  # 1009 shared chars = 3 whole units of 256 chars
    assert second["prompt_tokens"] == first["prompt_tokens"]
    simulator.reset()
    assert usage("segunda")["prompt_cache_hit_tokens"] == 0  # reset forgets the cache


def test_keepalive_blank_lines_precede_the_body_on_the_wire(simulator) -> None:
    simulator.configure(latency_ms=200, latency_sd_ms=0, keepalive_interval_s=0.02)
    url = urlsplit(simulator.base_url)
    body = json.dumps({"model": "deepseek-v4-flash", "messages": [{"role": "user", "content": "hola"}]}).encode()
    request = (
        f"POST /chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SECRET}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(request)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert b"200 OK" in head and b"chunked" in head.lower()
    assert payload.startswith(b"1\r\n\n\r\n")  # the first chunk is one blank line
    decoded = b"".join(_dechunk(payload))
    assert decoded.startswith(b"\n\n\n") and json.loads(decoded)["object"] == "chat.completion"


def _dechunk(data: bytes):
    while data:
        size_text, _, rest = data.partition(b"\r\n")
        size = int(size_text, 16)
        if size == 0:
            return
        yield rest[:size]
        data = rest[size + 2 :]


def test_faults_by_rate(simulator) -> None:
    simulator.configure(rate_500=1.0)
    assert _chat(simulator.base_url).status_code == 500
    simulator.configure(rate_500=0.0, rate_503=1.0, retry_after_s=2)
    response = _chat(simulator.base_url)
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    simulator.configure(rate_503=0.0, rate_blank=1.0)
    response = _chat(simulator.base_url, _items("Arriendo bodega"))
    content = response.json()["choices"][0]["message"]["content"]
    assert content.strip() == "" and len(content) > 0 and response.json()["choices"][0]["finish_reason"] == "stop"
    simulator.configure(rate_blank=0.0, rate_truncated=1.0)
    choice = _chat(simulator.base_url, _items("Arriendo bodega")).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    with pytest.raises(ValueError):
        json.loads(choice["message"]["content"])
    stats = simulator.settled_stats()  # the last answer is counted once its last byte is written
    assert stats["status_counts"] == {"500": 1, "503": 1, "200": 2}
    assert stats["faults"]["random_500"] == 1 and stats["faults"]["blank"] == 1


def test_402_after_the_spend_limit_and_topup_lifts_it(simulator) -> None:
    simulator.configure(spend_limit_usd="0.0000001")
    assert _chat(simulator.base_url).status_code == 200  # spend starts below the limit
    response = _chat(simulator.base_url)
    assert response.status_code == 402 and response.json()["error"]["message"] == "Insufficient Balance"
    topup = requests.post(simulator.base_url + "/admin/topup", json={"amount_usd": "1"}, timeout=5)
    assert topup.status_code == 200
    assert _chat(simulator.base_url).status_code == 200


def test_never_start_defeats_a_per_read_timeout(simulator) -> None:
    """Why the hook needs a total deadline: blank lines keep a 0.2 s read timeout from ever firing."""
    simulator.configure(rate_never_start=1.0, max_hold_s=0.6)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # the server finally hangs up, no body
        _chat(simulator.base_url, timeout=(2, 0.2))
    assert time.monotonic() - started >= 0.6


def test_never_start_ends_when_the_client_leaves(simulator) -> None:
    simulator.configure(rate_never_start=1.0)
    body = {"model": "deepseek-v4-flash", "messages": [{"role": "user", "content": "x"}]}
    headers = {"Authorization": f"Bearer {SECRET}"}
    response = requests.post(
        simulator.base_url + "/chat/completions", json=body, headers=headers, stream=True, timeout=5
    )
    assert response.status_code == 200 and response.raw.read1(16).strip() == b""  # blank lines only
    assert simulator.stats()["in_flight"] == 1
    response.close()
    stats = simulator.settled_stats(timeout=5)  # a held request looks for its client every PEER_CHECK_S
    assert stats["in_flight"] == 0 and stats["disconnects"] == 1
    assert stats["abandoned_per_key"] == {"sim-key-1": 1} and stats["requests_per_key"] == {}


def test_a_client_leaving_a_held_request_is_abandoned_not_answered_nor_billed(simulator) -> None:
    """So a killed worker's ledger still matches requests_per_key: it never saw this answer."""
    simulator.configure(latency_ms=300, latency_sd_ms=0, keepalive_interval_s=0.02)
    body = {"model": "deepseek-v4-flash", "messages": [{"role": "user", "content": "x"}]}
    headers = {"Authorization": f"Bearer {SECRET}"}
    response = requests.post(
        simulator.base_url + "/chat/completions", json=body, headers=headers, stream=True, timeout=5
    )
    assert response.raw.read1(16).strip() == b""
    response.close()
    stats = simulator.settled_stats(timeout=5)
    assert stats["abandoned_per_key"] == {"sim-key-1": 1} and stats["requests_per_key"] == {}
    assert stats["spend_usd"] == "0" and stats["tokens"] == {}
    assert _chat(simulator.base_url).status_code == 200
    assert simulator.settled_stats()["requests_per_key"] == {"sim-key-1": 1}


def test_off_catalog_rate_answers_accounts_outside_the_puc(simulator) -> None:
    simulator.configure(rate_off_catalog=1.0)
    content = _chat(simulator.base_url, _items("Arriendo", "Resma carta")).json()["choices"][0]["message"]["content"]
    accounts = {c["account"] for c in json.loads(content)["classifications"]}
    assert accounts <= set(OFF_CATALOG_ACCOUNTS)
    assert not accounts & set(puc.purchase_accounts())


def test_admin_config_stats_and_reset_over_http(simulator) -> None:
    base = simulator.base_url
    config = requests.post(base + "/admin/config", json={"rate_429": 1.0, "concurrency": 2}, timeout=5).json()
    assert config["rate_429"] == 1.0 and config["keys"] == sorted(SIM_KEYS)  # names only, never secrets
    assert SECRET not in json.dumps(config)
    assert _chat(base).status_code == 429
    stats = requests.get(base + "/admin/stats", timeout=5).json()
    assert stats["requests_per_key"] == {"sim-key-1": 1} and stats["status_counts"] == {"429": 1}
    assert requests.post(base + "/admin/config", json={"no_such_knob": 1}, timeout=5).status_code == 400
    assert requests.post(base + "/admin/config", json={"rate_500": 2}, timeout=5).status_code == 400
    requests.post(base + "/admin/reset", timeout=5)
    assert requests.get(base + "/admin/stats", timeout=5).json()["requests"] == 0


def test_balance_endpoint(simulator) -> None:
    response = requests.get(
        simulator.base_url + "/user/balance", headers={"Authorization": f"Bearer {SECRET}"}, timeout=5
    )
    data = response.json()
    assert data["is_available"] is True and data["balance_infos"][0]["currency"] == "USD"
    assert isinstance(data["balance_infos"][0]["total_balance"], str)
    assert requests.get(simulator.base_url + "/user/balance", timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("description", "supplier", "account"),
    [
        ("Canon de arrendamiento oficina 301", "", "512010"),
        ("Honorarios revisoría fiscal octubre", "", "511010"),
        ("Asesoría jurídica laboral", "", "511025"),
        ("Asesoría contable y tributaria", "", "511030"),
        ("Servicio de energía eléctrica", "Enel Colombia", "513530"),
        ("Acueducto y alcantarillado", "", "513525"),
        ("Consumo gas natural", "Vanti", "513555"),
        ("Plan de datos corporativo", "", "513535"),
        ("Servicio de vigilancia privada", "", "513505"),
        ("Resmas papel carta y tóner", "", "519530"),
        ("Café y azúcar para cafetería", "", "519525"),
        ("Gasolina corriente", "", "519535"),
        ("ACPM flota", "", "519535"),
        ("Mantenimiento preventivo computadores", "", "514525"),
        ("Mantenimiento vehículo placa ABC123", "", "514540"),
        ("Flete Bogotá - Medellín", "", "513550"),
        ("Correo certificado", "4-72", "513540"),
        ("Licencia software contable anual", "", "513520"),
        ("Mercancía para la venta", "", "143501"),
        ("Computador portátil 14 pulgadas", "", "152805"),
        ("Silla ergonómica", "", "152405"),
        ("Póliza todo riesgo", "", "513095"),
        ("Póliza seguro vehículo", "", "513040"),
        ("Tiquete aéreo BOG-CTG", "", "515515"),
        ("Alojamiento 2 noches", "Hotel Tequendama", "515505"),
        ("Almuerzo reunión clientes", "", "519560"),
        ("Parqueadero mensual", "", "519565"),
        ("Comisión bancaria transferencia", "", "530515"),
        ("Servicio de personal temporal", "Adecco Temporales", "513510"),
        ("Servicio XYZ", "Proveedor Desconocido SAS", "519595"),
        ("Servicio mensual", "Energía del Pacífico SA ESP", "513530"),  # only the supplier tells
    ],
)
def test_classifier_rules(description: str, supplier: str, account: str) -> None:
    got, confidence = classify_line(description, supplier)
    assert got == account
    assert account in puc.purchase_accounts()
    assert 0 < confidence <= 1 and (confidence < 0.5) == (account == "519595")


def test_classifier_answers_the_wire_format_with_proportional_output(simulator) -> None:
    one = _chat(simulator.base_url, _items("Arriendo")).json()
    five = _chat(simulator.base_url, _items(*["Arriendo"] * 5)).json()
    parsed = json.loads(five["choices"][0]["message"]["content"])
    assert [c["id"] for c in parsed["classifications"]] == ["0", "1", "2", "3", "4"]
    assert five["usage"]["completion_tokens"] > 3 * one["usage"]["completion_tokens"]


def test_cli_flags_become_knobs(tmp_path) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({"a": "sk-a-123456", "b": "sk-b-123456"}))
    args = build_parser().parse_args(
        ["simulator", "--port", "0", "--keys-file", str(keys_file), "--concurrency", "3", "--rate-429", "0.1",
         "--rate-never-start", "0.05", "--revoked-keys", "b", "--spend-limit-usd", "2.5"]
    )  # fmt: skip
    config = SimulatorConfig().updated(knobs_from_args(args))
    assert config.keys == {"a": "sk-a-123456", "b": "sk-b-123456"} and config.concurrency == 3
    assert config.rate_429 == 0.1 and config.rate_never_start == 0.05 and config.revoked_keys == {"b"}
    args = build_parser().parse_args(["simulator", "--keys", "x=sk-x-1,y=sk-y-2"])
    assert SimulatorConfig().updated(knobs_from_args(args)).keys == {"x": "sk-x-1", "y": "sk-y-2"}


def test_start_and_stop_on_an_ephemeral_port() -> None:
    handle = start_simulator(keys={"k": "sk-k-123456"}, latency_ms=0)
    try:
        assert handle.base_url.startswith("http://127.0.0.1:") and not handle.base_url.endswith(":0")
        assert _chat(handle.base_url, secret="sk-k-123456").status_code == 200
    finally:
        handle.stop()
    with pytest.raises(requests.ConnectionError):
        _chat(handle.base_url, secret="sk-k-123456")
