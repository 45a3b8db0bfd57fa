"""`quincena access import|list`: the firm's grants, validated whole (one-line errors), all or nothing."""

from __future__ import annotations

from pathlib import Path

from quincena.cli import main
from quincena.core import companies
from quincena.core.companies import Company
from quincena.review import access

NIT_A, NIT_B = "900373115", "890486413"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_replaces_the_grants_and_list_shows_them(clean_db, tmp_path, capsys) -> None:
    companies.upsert([Company(NIT_A, 3, "Ferretería El Tornillo S.A.S."), Company(NIT_B, 0, "Otra S.A.S.")])
    good = _write(tmp_path / "acceso.csv", f"user;role;company\ncarla;;{NIT_A}-3\n;Op;*\n")
    assert main(["access", "import", str(good)]) == 0
    assert "2 grants imported" in capsys.readouterr().out
    assert main(["access", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == [f"user\tcarla\t{NIT_A}\tFerretería El Tornillo S.A.S.", "role\top\t*\tevery company"]
    assert access.may_act("carla", ["user"], NIT_A) and not access.may_act("carla", ["user"], NIT_B)

    for bad, said in (
        (f"user,role,company\ncarla,op,{NIT_A}\n", "line 2: fill exactly one of user and role"),
        (f"user,role,company\ncarla,,{NIT_A}\nluis,,12a\n", "line 3: not a NIT: '12a'"),
        (f"user,role,company\ncarla,,{NIT_A}\nluis,,\n", "line 3: company is empty"),
        ("user,role,company\nluis,,800197268\n", "company 800197268 is not in the registry"),
        ("user,company\nluis,*\n", "missing column(s) role"),
    ):
        assert main(["access", "import", str(_write(tmp_path / "mala.csv", bad))]) == 2, bad
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and said in err, (err, said)
    assert len(access.grants()) == 2  # every refused file changed nothing
    assert main(["access", "import", str(tmp_path / "no.csv")]) == 2
