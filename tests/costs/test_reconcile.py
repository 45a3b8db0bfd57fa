"""Reconciliation of DeepSeek's usage export with the api_calls ledger, on exports written here.

Ledger (UTC days): Nov 3: k1 2 answered calls + one 429 (not billed), k2 1 call; Nov 4: k1 1 call.
Each answered call: 100,000 cache-hit + 20,000 cache-miss + 10,000 output tokens, US$0.0093 at
off-peak prices (0.003 / 0.15 / 0.60 per 1M = per token 0.000000003 / 0.00000015 / 0.0000006).
"""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from quincena.cli import main as cli_main
from quincena.costs import reconcile, usage_export
from tests.costs import health_seed
from tests.costs.health_seed import at, call

MASKED = "sk-1bb****7cee7"
HEADER = "user_id,utc_date,model,api_key_name,api_key,type,price,amount"
PRICES = {
    "input_cache_hit_tokens": "0.000000003",
    "input_cache_miss_tokens": "0.00000015",
    "output_tokens": "0.0000006",
}
PER_CALL = {"request_count": 1, "input_cache_hit_tokens": 100_000, "input_cache_miss_tokens": 20_000,
            "output_tokens": 10_000}  # fmt: skip
# (day, key, answered calls) as DeepSeek would bill them
LEDGER_USAGE = [("2026-11-03", "k1", 2), ("2026-11-03", "k2", 1), ("2026-11-04", "k1", 1)]


@pytest.fixture
def ledger(clean_db, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("QUINCENA_PRICE_TABLE", str(health_seed.write_price_table(tmp_path)))
    health_seed.insert_calls(
        [
            call("k1", at("2026-11-03T15:00:00"), company=None),
            call("k1", at("2026-11-03T15:01:00"), company=None),
            call("k1", at("2026-11-03T15:02:00"), "rate_limited", company=None),
            call("k2", at("2026-11-03T23:59:59"), company=None),
            call("k1", at("2026-11-04T00:00:00"), company=None),  # UTC midnight: Nov 4, though Nov 3 in Bogotá
        ]
    )


def amount_lines(usage=LEDGER_USAGE, model="deepseek-v4-flash", prices=PRICES, amounts=None) -> list[str]:
    lines = []
    for day, key, calls in usage:
        for kind, per_call in PER_CALL.items():
            amount = (amounts or {}).get((day, key, kind), per_call * calls)
            price = "" if kind == "request_count" else prices[kind]
            lines.append(f"4242,{day},{model},{key},{MASKED},{kind},{price},{amount}")
    return lines


def cost_lines(currency: str = "USD") -> list[str]:
    return ["user_id,utc_date,model,wallet_type,cost,currency",
            f"4242,2026-11-03,deepseek-v4-flash,topped_up,0.0279,{currency}",
            f"4242,2026-11-04,deepseek-v4-flash,topped_up,0.0093,{currency}"]  # fmt: skip


def write_csv(path: Path, lines: list[str], bom: bool = False, crlf: bool = False) -> Path:
    text = ("\r\n" if crlf else "\n").join([HEADER, *lines]) + ("\r\n" if crlf else "\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _csv_bytes(lines: list[str], header: str = HEADER) -> bytes:
    return "\n".join([header, *lines]).encode() + b"\n"


def _run(path: Path) -> reconcile.Reconciliation:
    return reconcile.reconcile_file(path, Decimal("0.01"), path.parent / "out.csv")


def _verdicts(result: reconcile.Reconciliation) -> dict[tuple[str, str], str]:
    return {(str(g["utc_date"]), g["key_name"]): g["verdict"] for g in result.groups}


# -- matching and gaps ---------------------------------------------------------------------------
def test_matching_export(ledger, tmp_path) -> None:
    path = write_zip(tmp_path / "export.zip", {"amount-2026-11.csv": _csv_bytes(amount_lines()),
                                               "cost-2026-11.csv": "\n".join(cost_lines()).encode()})  # fmt: skip
    result = _run(path)
    assert _verdicts(result) == {("2026-11-03", "k1"): "match", ("2026-11-03", "k2"): "match",
                                 ("2026-11-04", "k1"): "match"}  # fmt: skip
    assert result.gaps == [] and result.notes == [] and result.currency == "USD"
    k1 = {r["type"]: r for r in result.rows if (str(r["utc_date"]), r["key_name"]) == ("2026-11-03", "k1")}
    assert k1["request_count"]["export"] == 2 and k1["request_count"]["ledger"] == 2  # the 429 is not billed
    assert k1["output_tokens"]["diff"] == 0 and k1["cost_usd"]["ledger"] == Decimal("0.0186")
    assert k1["cost_usd"]["export"] == Decimal("0.0186")


def test_missing_day_in_the_export_and_a_day_we_did_not_record(ledger, tmp_path) -> None:
    usage = [("2026-11-03", "k1", 2), ("2026-11-03", "k2", 1), ("2026-11-05", "k2", 3)]  # no Nov 4, extra Nov 5
    result = _run(write_csv(tmp_path / "amount-2026-11.csv", amount_lines(usage)))
    assert _verdicts(result) == {
        ("2026-11-03", "k1"): "match",
        ("2026-11-03", "k2"): "match",
        ("2026-11-04", "k1"): reconcile.NOT_BILLED,
        ("2026-11-05", "k2"): reconcile.UNRECORDED,
    }
    nov5 = {r["type"]: r for r in result.rows if str(r["utc_date"]) == "2026-11-05"}
    assert nov5["output_tokens"]["export"] == 30_000 and nov5["output_tokens"]["ledger"] == 0
    assert nov5["output_tokens"]["diff_pct"] is None and nov5["output_tokens"]["gap"] is True
    nov4 = {r["type"]: r for r in result.rows if str(r["utc_date"]) == "2026-11-04"}
    assert nov4["input_cache_miss_tokens"]["diff"] == -20_000 and nov4["input_cache_miss_tokens"]["diff_pct"] == -100


def test_price_change_is_told_apart_from_missing_calls(ledger, tmp_path) -> None:
    doubled = {**PRICES, "output_tokens": "0.0000012"}  # same tokens, output billed at 1.20/1M
    lines = (
        amount_lines(LEDGER_USAGE[:1])
        + amount_lines(LEDGER_USAGE[1:2], prices=doubled)
        + amount_lines(LEDGER_USAGE[2:])
    )
    result = _run(write_csv(tmp_path / "amount-2026-11.csv", lines))
    (gap,) = result.gaps
    assert (str(gap["utc_date"]), gap["key_name"], gap["verdict"]) == ("2026-11-03", "k2", reconcile.PRICES_CHANGED)
    assert gap["amount_gaps"] == [] and gap["cost_gap"] is True
    assert gap["export_cost"] == Decimal("0.0153") and gap["ledger_cost_usd"] == Decimal("0.0093")
    assert gap["implied_price_per_1m"] == {"input_cache_hit_tokens": "0.003", "input_cache_miss_tokens": "0.15",
                                          "output_tokens": "1.2"}  # fmt: skip
    assert gap["our_price_per_1m"]["output_tokens"] == "0.6 / peak 1.2"
    cost = next(r for r in result.rows if r["key_name"] == "k2" and r["type"] == "cost_usd")
    assert cost["diff"] == Decimal("0.0060") and cost["diff_pct"] == Decimal("64.52")
    text = "\n".join(reconcile.describe(result))
    assert "cost_usd export 0.0153 vs ledger 0.0093 (diff +0.006, +64.52%)" in text
    assert "PRICES CHANGED" in text and "output_tokens: DeepSeek charged 1.2/1M, our table says 0.6 / peak 1.2" in text


def test_more_tokens_billed_than_recorded_and_fewer(ledger, tmp_path) -> None:
    amounts = {("2026-11-03", "k1", "output_tokens"): 20_300,  # +1.5 %: above the 1 % tolerance
               ("2026-11-04", "k1", "request_count"): 0, ("2026-11-04", "k1", "input_cache_hit_tokens"): 0,
               ("2026-11-04", "k1", "input_cache_miss_tokens"): 0, ("2026-11-04", "k1", "output_tokens"): 0,
               ("2026-11-03", "k2", "input_cache_hit_tokens"): 100_500}  # +0.5 %: within tolerance  # fmt: skip
    result = _run(write_csv(tmp_path / "amount-2026-11.csv", amount_lines(amounts=amounts)))
    verdicts = _verdicts(result)
    assert verdicts[("2026-11-03", "k1")] == reconcile.UNRECORDED
    assert verdicts[("2026-11-04", "k1")] == reconcile.NOT_BILLED
    assert verdicts[("2026-11-03", "k2")] == "match"
    k1 = next(g for g in result.gaps if g["key_name"] == "k1" and str(g["utc_date"]) == "2026-11-03")
    assert k1["amount_gaps"] == ["output_tokens"]


def test_model_aliases_are_compared_as_one(ledger, tmp_path) -> None:
    result = _run(write_csv(tmp_path / "amount-2026-11.csv", amount_lines(model="deepseek-chat")))
    assert set(_verdicts(result).values()) == {"match"}


def test_export_in_another_currency_compares_amounts_only(ledger, tmp_path) -> None:
    in_cny = {k: str(Decimal(v) * 7) for k, v in PRICES.items()}
    amounts = _csv_bytes(amount_lines(prices=in_cny))
    costs = "\n".join(cost_lines("CNY")).encode()
    path = write_zip(tmp_path / "export.zip", {"amount-2026-11.csv": amounts, "cost-2026-11.csv": costs})
    result = _run(path)
    assert set(_verdicts(result).values()) == {"match"}
    assert not any(r["type"] == "cost_usd" for r in result.rows)
    assert any("billed in CNY" in n for n in result.notes)


def test_cost_file_disagreeing_with_amounts_is_noted(ledger, tmp_path) -> None:
    costs = [*cost_lines()[:2], "4242,2026-11-04,deepseek-v4-flash,topped_up,0.0500,USD"]
    path = write_zip(tmp_path / "export.zip", {"amount-2026-11.csv": _csv_bytes(amount_lines()),
                                               "cost-2026-11.csv": "\n".join(costs).encode()})  # fmt: skip
    assert _run(path).notes == ["2026-11-04: cost file says 0.05, amount file Σ price × amount is 0.0093"]


# -- the variants ----------------------------------------------------------------------------------
def _variant(kind: str, tmp_path: Path) -> Path:
    lines = amount_lines()
    if kind == "bom":
        return write_csv(tmp_path / "amount-2026-11.csv", lines, bom=True)
    if kind == "crlf":
        return write_csv(tmp_path / "amount-2026-11.csv", lines, crlf=True)
    if kind == "compact_date":
        return write_csv(tmp_path / "amount-2026-11.csv", [line.replace("2026-11-0", "2026110") for line in lines])
    if kind == "nested_folder":
        folder = "usage-export-2026-11/"
        return write_zip(tmp_path / "usage.zip", {folder: b"", folder + "amount-2026-11.csv": _csv_bytes(lines)})
    # all of them at once, inside a ZIP
    data = b"\xef\xbb\xbf" + "\r\n".join([HEADER, *(x.replace("2026-11-0", "2026110") for x in lines)]).encode()
    return write_zip(tmp_path / "usage.zip", {"export/2026/amount-2026-11.csv": data})


@pytest.mark.parametrize("kind", ["bom", "crlf", "compact_date", "nested_folder", "everything"])
def test_variants_read_the_same(ledger, tmp_path, kind: str) -> None:
    export = usage_export.read_export(_variant(kind, tmp_path))
    assert len(export.amounts) == 12
    assert {str(r.day) for r in export.amounts} == {"2026-11-03", "2026-11-04"}
    assert export.amounts[0].model == "deepseek-v4-flash" and export.amounts[0].type == "request_count"
    assert set(_verdicts(_run(_variant(kind, tmp_path))).values()) == {"match"}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("usage.zip", b"PK\x03\x04 this is not really a zip", "not a readable ZIP file"),
        ("usage.zip", None, "no amount-YYYY-M.csv inside the ZIP (found: readme.txt)"),
        ("amount-2026-11.csv", b"date,tokens\n2026-11-03,5\n", "missing column(s) utc_date, model, api_key_name"),
        ("amount-2026-11.csv", b"\xff\xfe\x00garbage", "not UTF-8 text"),
        ("amount-2026-11.csv", b"", "empty file"),
        ("amount-2026-11.csv", _csv_bytes([f"4242,03/11/2026,deepseek-v4-flash,k1,{MASKED},output_tokens,0.0000006,5"]),
         "line 2: utc_date '03/11/2026' is not a date"),
        ("amount-2026-11.csv", _csv_bytes([f"4242,2026-11-03,deepseek-v4-flash,k1,{MASKED},output_tokens,0.0000006,x"]),
         "line 2: amount 'x' is not a number"),
        ("amount-2026-11.csv", _csv_bytes([f"4242,2026-11-03,deepseek-v4-flash,k1,{MASKED},image_tokens,0.1,5"]),
         "line 2: unknown type 'image_tokens'"),
        ("amount-2026-11.csv", _csv_bytes([f"4242,2026-11-03,deepseek-v4-flash,k1,{MASKED},output_tokens,0.1"]),
         "line 2: 7 fields, expected 8"),
        ("amount-2026-11.csv", _csv_bytes([]), "no usage rows"),
    ],
)  # fmt: skip
def test_corrupt_files_are_rejected_with_one_clear_line(tmp_path, name: str, data: bytes | None, message: str) -> None:
    path = tmp_path / name
    if data is None:
        write_zip(path, {"readme.txt": b"hello"})
    else:
        path.write_bytes(data)
    with pytest.raises(usage_export.ExportError) as failure:
        usage_export.read_export(path)
    assert message in str(failure.value) and "\n" not in str(failure.value)
    assert MASKED not in str(failure.value)


def test_truncated_zip_is_rejected(tmp_path) -> None:
    good = write_zip(tmp_path / "good.zip", {"amount-2026-11.csv": _csv_bytes(amount_lines()) * 20})
    broken = tmp_path / "usage.zip"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(usage_export.ExportError, match=r"usage.zip: (not a readable|corrupt) ZIP"):
        usage_export.read_export(broken)


# -- the command line --------------------------------------------------------------------------------
def test_cli_matching_export_exits_0(ledger, tmp_path, capsys) -> None:
    path = write_zip(tmp_path / "export.zip", {"amount-2026-11.csv": _csv_bytes(amount_lines())})
    out_csv = tmp_path / "cmp.csv"
    assert cli_main(["reconcile", str(path), "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert "3 match (tolerance 1%)" in out and f"comparison written to {out_csv}" in out
    assert out_csv.read_text(encoding="utf-8").splitlines()[0] == ",".join(reconcile.CSV_COLUMNS)


def test_cli_reports_gaps_and_never_the_masked_key(ledger, tmp_path, capsys) -> None:
    usage = [("2026-11-03", "k1", 2), ("2026-11-03", "k2", 1)]
    path = write_csv(tmp_path / "amount-2026-11.csv", amount_lines(usage))
    out_csv = tmp_path / "cmp.csv"
    assert cli_main(["reconcile", str(path), "--tolerance", "0.05", "--csv", str(out_csv)]) == 1
    out = capsys.readouterr().out
    assert "2026-11-04 k1 deepseek-v4-flash: RECORDED CALLS THAT WERE NOT BILLED" in out
    assert "request_count export 0 vs ledger 1 (diff -1, -100.00%)" in out
    assert "(tolerance 5%)" in out
    for text in (out, out_csv.read_text(encoding="utf-8")):
        assert "sk-1bb" not in text and "7cee7" not in text


def test_cli_unreadable_file_exits_2_with_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "usage.zip"
    path.write_bytes(b"not a zip at all")
    assert cli_main(["reconcile", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == "quincena reconcile: usage.zip: not a readable ZIP file\n"


def test_cli_rejects_a_silly_tolerance(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["reconcile", str(tmp_path / "x.csv"), "--tolerance", "5"])
    assert exit_info.value.code == 2 and "tolerance is a fraction" in capsys.readouterr().err


# -- the DAG's folder step ----------------------------------------------------------------------------
def test_folder_step_reconciles_moves_and_reports_errors(ledger, tmp_path) -> None:
    inbox = tmp_path / "exports"
    inbox.mkdir()
    write_zip(inbox / "export.zip", {"nested/amount-2026-11.csv": _csv_bytes(amount_lines())})
    (inbox / "broken.csv").write_bytes(b"hello,world\n1,2\n")
    result = reconcile.reconcile_folder(inbox, tmp_path / "out")
    files = {f["file"]: f for f in result["files"]}
    assert files["export.zip"]["status"] == "match" and files["export.zip"]["groups"] == 3
    assert files["broken.csv"]["status"] == "error" and "missing column(s)" in files["broken.csv"]["error"]
    assert (inbox / "reconciled" / "export.zip").is_file() and not (inbox / "export.zip").exists()
    assert (inbox / "broken.csv").is_file()  # stays until someone replaces it
    assert (tmp_path / "out" / "export.csv").is_file()
    assert reconcile.reconcile_folder(tmp_path / "nowhere", tmp_path / "out") == {
        "folder": str(tmp_path / "nowhere"), "files": []}  # fmt: skip


def test_period_is_the_month_up_to_yesterday() -> None:
    rows = [usage_export.UsageRow(date(2026, 11, 3), "m", "k1", "output_tokens", Decimal(0), Decimal(1))]
    named = usage_export.UsageExport("amount-2026-11.csv", rows, [], [(2026, 11)])
    assert named.period(today=date(2026, 11, 10)) == (date(2026, 11, 1), date(2026, 11, 10))
    assert named.period(today=date(2027, 1, 5)) == (date(2026, 11, 1), date(2026, 12, 1))
    assert named.period(today=date(2026, 11, 2)) == (date(2026, 11, 1), date(2026, 11, 4))  # never before its rows
    assert usage_export.UsageExport("usage.csv", rows).period() == (date(2026, 11, 3), date(2026, 11, 4))


def test_dag_tolerance_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("QUINCENA_RECONCILE_TOLERANCE", raising=False)
    assert reconcile.default_tolerance() == Decimal("0.01")
    monkeypatch.setenv("QUINCENA_RECONCILE_TOLERANCE", "0.05")
    assert reconcile.default_tolerance() == Decimal("0.05")
    monkeypatch.setenv("QUINCENA_RECONCILE_TOLERANCE", "5")
    with pytest.raises(ValueError, match="must be in"):
        reconcile.default_tolerance()


# -- hostile files (issue 11) ---------------------------------------------------------------------------
def _patched_zip(path: Path, patch: str) -> Path:
    """A valid export ZIP, then damaged the way a real file can be: encrypted, a broken deflate
    stream, or a compression method no reader knows."""
    method = zipfile.ZIP_STORED if patch == "method" else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("amount-2026-11.csv", _csv_bytes(amount_lines() * 20))
    data = bytearray(path.read_bytes())
    local, central = 0, data.index(b"PK\x01\x02")
    if patch == "encrypted":  # general purpose flag bit 0, in both headers
        data[local + 6] |= 0x01
        data[central + 8] |= 0x01
    elif patch == "deflate":  # garbage in the middle of the compressed stream, headers intact
        start = local + 30 + len("amount-2026-11.csv")
        data[start + 5 : start + 60] = b"\xff" * 55
    elif patch == "method":  # compression method 99 (AES), in both headers
        data[local + 8 : local + 10] = (99).to_bytes(2, "little")
        data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("patch", "message"),
    [("encrypted", "encrypted"), ("deflate", "corrupt"), ("method", "compression method")],
)
def test_cli_damaged_zip_exits_2_with_one_line(tmp_path, capsys, patch: str, message: str) -> None:
    path = _patched_zip(tmp_path / "usage.zip", patch)
    assert cli_main(["reconcile", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("quincena reconcile: ") and message in err, err


@pytest.mark.parametrize("amount", ["1e999999999", "1E+400", "1e-999999999"])
def test_cli_absurd_exponent_exits_2_with_one_line(tmp_path, capsys, amount: str) -> None:
    lines = amount_lines()
    lines[1] = lines[1].rsplit(",", 1)[0] + f",{amount}"
    path = write_csv(tmp_path / "amount-2026-11.csv", lines)
    assert cli_main(["reconcile", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3" in err and "amount" in err and "out of range" in err, err


def test_folder_step_a_bad_file_does_not_stop_a_good_one(ledger, tmp_path) -> None:
    inbox = tmp_path / "exports"
    inbox.mkdir()
    _patched_zip(inbox / "a-encrypted.zip", "encrypted")  # sorted first: read before the good one
    _patched_zip(inbox / "b-deflate.zip", "deflate")
    huge = amount_lines()
    huge[1] = huge[1].rsplit(",", 1)[0] + ",1e999999999"
    write_csv(inbox / "c-amount-2026-11.csv", huge)
    write_zip(inbox / "export.zip", {"amount-2026-11.csv": _csv_bytes(amount_lines())})
    result = reconcile.reconcile_folder(inbox, tmp_path / "out")
    files = {f["file"]: f for f in result["files"]}
    assert files["export.zip"]["status"] == "match" and (inbox / "reconciled" / "export.zip").is_file()
    for bad in ("a-encrypted.zip", "b-deflate.zip", "c-amount-2026-11.csv"):
        assert files[bad]["status"] == "error" and files[bad]["error"], files[bad]
        assert (inbox / bad).is_file()  # stays, with its error in the report
