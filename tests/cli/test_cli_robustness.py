"""The CLI as a new user meets it (issue 11): one line and a non-zero code for every user error."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from quincena.cli import main as cli_main
from quincena.core import db


def _quincena(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The installed command as a user runs it: a fresh interpreter, real stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "quincena.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else dict(os.environ),
        check=False,
    )


def _one_line_error(result_err: str, code: int, expected_code: int, *fragments: str) -> None:
    lines = [line for line in result_err.splitlines() if line.strip()]
    assert code == expected_code
    assert len(lines) == 1, result_err
    assert "Traceback" not in result_err
    for fragment in fragments:
        assert fragment in lines[0]


def test_excel_spanish_csv_in_windows_1252_with_semicolons_imports(clean_db: str, tmp_path: Path) -> None:
    path = tmp_path / "clientes.csv"
    path.write_bytes(
        "NIT;Name;Active;monthly_budget_usd\r\n900373115-3;Compañía Ñandú S.A.S.;sí;120,50\r\n".encode("cp1252")
    )

    assert cli_main(["companies", "import", str(path)]) == 0

    row = db.query_text("SELECT name, active, monthly_budget_usd FROM companies")[0]
    assert row == {"name": "Compañía Ñandú S.A.S.", "active": True, "monthly_budget_usd": Decimal("120.50")}


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b"nit,name\n900373115-3,Uno\x00\n", ("line 2", "NUL byte")),
        (b'nit,name\n900373115-3,"Uno sin cerrar\n', ("not a readable CSV",)),
        (b"nit,name,monthly_budget_usd\n900373115-3,Uno,NaN\n", ("line 2", "finite")),
        (b"nit,name,monthly_budget_usd\n900373115-3,Uno,Infinity\n", ("line 2", "finite")),
        (b"nit,name\n900373115-3,Uno \x81\x8d\n", ("line 2", "Windows-1252")),
    ],
)
def test_bad_company_files_are_one_line_and_exit_2(
    clean_db: str, tmp_path: Path, capsys, content: bytes, fragments: tuple[str, ...]
) -> None:
    path = tmp_path / "companies.csv"
    path.write_bytes(content)

    code = cli_main(["companies", "import", str(path)])

    _one_line_error(capsys.readouterr().err, code, 2, *fragments)
    assert db.query_text("SELECT count(*) AS n FROM companies")[0]["n"] == 0


def test_a_missing_inbox_is_one_line(clean_db: str, tmp_path: Path, capsys) -> None:
    code = cli_main(["ingest", "--inbox", str(tmp_path / "nowhere")])
    _one_line_error(capsys.readouterr().err, code, 2, "no such inbox directory")


def test_json_is_pure_and_airflow_stays_out_of_home(clean_db: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("AIRFLOW_HOME", "XDG_RUNTIME_DIR")}
    env |= {"HOME": str(home), "QUINCENA_LOCAL": str(tmp_path / "local")}
    (tmp_path / "inbox").mkdir()

    result = _quincena("ingest", "--json", "--inbox", str(tmp_path / "inbox"), "--company", "900373115", env=env)

    assert not (home / "airflow").exists()
    assert "XDG_RUNTIME_DIR" not in result.stderr and "Reading the config" not in result.stderr
    assert result.returncode == 2  # the company is not registered: a user error, said in one line
    _one_line_error(result.stderr, result.returncode, 2, "not registered")
    assert result.stdout == ""

    sample = _quincena("sample", "--companies", "1", "--invoices", "3", "--inbox", str(tmp_path / "inbox"), env=env)
    assert sample.returncode == 0, sample.stderr
    ingested = _quincena("ingest", "--json", "--inbox", str(tmp_path / "inbox"), env=env)
    assert ingested.returncode == 0, ingested.stderr
    reports = json.loads(ingested.stdout)  # nothing but JSON on stdout
    assert reports[0]["invoices_added"] >= 3


def test_a_database_that_never_answers_fails_in_seconds_with_one_line(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts TCP (the kernel completes the handshake) and never says a word
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_") and k != "PGCONNECT_TIMEOUT"}
    base |= {"QUINCENA_DB_CONNECT_TIMEOUT_S": "2", "QUINCENA_LOCAL": str(tmp_path)}
    try:
        for port, words in ((silent.getsockname()[1], "timeout"), (closed_port, "refused")):
            env = base | {"DATABASE_URL": f"postgresql://quincena@127.0.0.1:{port}/quincena"}
            result = _quincena("companies", "list", env=env, timeout=45)
            _one_line_error(result.stderr, result.returncode, 1, "cannot reach the database")
            assert words in result.stderr.lower()
    finally:
        silent.close()
