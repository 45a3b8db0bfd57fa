"""The evaluation harness end to end: the real simulator, the real hook and ledger, the real classifier path."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from quincena.classify import prompt
from quincena.classify.classifier import Settings
from quincena.cli import main
from quincena.core import config
from quincena.deepseek.store import pipeline_hook
from quincena.devtools.simulator.classifier import classify_line
from quincena.quality import evaluate, gold
from tests.helpers import count

SMALL = Path(__file__).with_name("gold_small.csv")
FULL = config.include_dir() / "eval" / "gold.csv"


def test_small_gold_figures_match_the_hand_count(clean_db: str, deepseek_conn) -> None:
    deepseek_conn()
    result = evaluate.run_evaluation(gold.read_gold(SMALL), pipeline_hook(), Settings(), gold_file=SMALL.name)
    s = result.summary()
    # By hand (tests/quality/gold_small.csv against the simulator's keyword rules):
    # lines 2-6 and 11 right; 7 (513535 for 513520) and 8 (515515 for 515520) right account only;
    # 9 wrong account (513520 for 514015); 10 unknown -> confidence 0.35 -> review.
    assert s["lines"] == 10
    assert (s["correct_subaccount"], s["correct_account"], s["review"]) == (6, 8, 1)
    assert (s["accuracy_subaccount"], s["accuracy_account"], s["review_share"]) == (0.6, 0.8, 0.1)
    assert s["accuracy_subaccount_proposed"] == round(6 / 9, 4)
    assert result.confusion(6) == {
        **{(a, a): n for a, n in {"513530": 2, "511010": 1, "519530": 1, "512010": 1, "519535": 1}.items()},
        ("513520", "513535"): 1,
        ("515520", "515515"): 1,
        ("514015", "513520"): 1,
        ("511540", evaluate.REVIEW): 1,
    }
    # 10 one-line invoices, 4 pool slots: batches of 3 -> 4 requests, plus one re-ask for the review line.
    assert (s["requests"], s["validation_retries"]) == (5, 1)
    assert s["api_attempts"] == 5 == count("SELECT count(*) AS n FROM api_calls WHERE purpose = 'eval'")
    assert s["cost_usd"] > 0 and s["latency_p95_ms"] >= s["latency_p50_ms"] > 0
    assert s["prompt_version"] == prompt.PROMPT_VERSION and s["model"]
    # The run touched no company data: nothing classified, no memory, calls without a company.
    assert count("SELECT count(*) AS n FROM classifications") == 0
    assert count("SELECT count(*) AS n FROM supplier_memory") == 0
    assert count("SELECT count(*) AS n FROM api_calls WHERE company_nit IS NOT NULL") == 0
    review = next(o for o in result.outcomes if o.line.line_no == 10)
    assert review.predicted is None and "below" in (review.problem or "")


def test_full_gold_set_is_a_pipeline_regression_test(clean_db: str, deepseek_conn) -> None:
    """Through the whole path, every line gets exactly what the simulator's rules give it directly."""
    deepseek_conn()
    lines = gold.read_gold(FULL)
    result = evaluate.run_evaluation(lines, pipeline_hook(), Settings(invoices_per_request=8))
    for outcome in result.outcomes:
        account, confidence = classify_line(outcome.line.description, outcome.line.supplier_name)
        expected = account if confidence >= Settings().min_confidence else None
        assert outcome.predicted == expected, outcome.line
    s = result.summary()
    assert s["lines"] == len(lines) >= 300
    assert s["halted"] == ""


def test_cli_writes_comparable_runs(clean_db: str, deepseek_conn, tmp_path: Path, capsys) -> None:
    deepseek_conn()
    out = tmp_path / "eval"
    for _ in range(2):
        assert main(["eval", "--gold", str(SMALL), "--out", str(out), "--prompt-version", prompt.PROMPT_VERSION]) == 0
    printed = capsys.readouterr().out
    assert "sub-account accuracy 60.0%" in printed and "account accuracy 80.0%" in printed
    with (out / "runs.csv").open(encoding="utf-8") as handle:
        runs = list(csv.DictReader(handle))
    assert len(runs) == 2 and {r["accuracy_subaccount"] for r in runs} == {"0.6"}
    with (out / "lines.csv").open(encoding="utf-8") as handle:
        assert sum(int(r["correct_subaccount"]) for r in csv.DictReader(handle)) == 6
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "Matriz de confusión" in page and "60.0 %" in page


def test_cli_refuses_an_unknown_prompt_version(tmp_path: Path, capsys) -> None:
    code = main(["eval", "--gold", str(SMALL), "--out", str(tmp_path), "--prompt-version", "p999"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "p999" in err[0]


def test_gold_errors_name_each_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "supplier_nit,supplier_name,description,amount,tax_percent,expected_account\n"
        "900123456,Proveedor,Arriendo,100.00,19,512010\n"
        "90012345-6,Proveedor,Arriendo,100.00,19,512010\n"
        "900123456,Proveedor,Arriendo,1.000.000,19,512010\n"
        "900123456,Proveedor,Arriendo,100.00,19,5120\n",
        encoding="utf-8",
    )
    with pytest.raises(gold.GoldError) as caught:
        gold.read_gold(bad)
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["bad.csv line 3", "bad.csv line 4", "bad.csv line 5"]
    assert "supplier_nit" in lines[0] and "amount" in lines[1] and "expected_account" in lines[2]


def test_shipped_gold_set_is_valid_and_broad() -> None:
    lines = gold.read_gold(FULL)
    assert len(lines) >= 300
    assert len({g.expected_account for g in lines}) >= 30
    assert any(g.note for g in lines)


# Change PROMPT_VERSION with the prompt text, then update this pin.
PINNED_PROMPT = ("p1", "f4365677b69231987c177a5b21d0ed9689fc22ed355370aa5444ca8f004b6787")


def test_prompt_text_is_pinned_to_its_version() -> None:
    digest = hashlib.sha256(prompt.system_prompt().encode("utf-8")).hexdigest()
    assert (prompt.PROMPT_VERSION, digest) == PINNED_PROMPT, "prompt text changed: bump PROMPT_VERSION and the pin"
