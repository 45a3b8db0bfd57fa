"""Who may see, correct and approve which company: the firm's ``company_access`` grants.

A grant names a user, or a role (every user holding it), and one company's NIT or every company.
Users whose role is ``admin`` see every company without a grant; anyone else sees only the companies
granted to them or to one of their roles, and nothing while no grant names them. What a role may do
(read, or also write) is Airflow's auth manager's decision; this module only narrows it by company.

``quincena access import FILE.csv`` replaces every grant with the file's (columns ``user``, ``role``,
``company``: exactly one of user/role per row, company a NIT or ``*`` for every company), validated
whole before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from quincena.core import db, spreadsheet
from quincena.core.nit import InvalidNit, parse_nit

ADMIN_ROLE = "admin"
EVERY_COMPANY = "*"
CSV_COLUMNS = ("user", "role", "company")


class AccessFileError(spreadsheet.SpreadsheetError):
    """The grants file cannot be imported; the message names the line."""


@dataclass(frozen=True)
class Grant:
    principal_kind: str  # "user" or "role"
    principal: str  # a user name as the auth manager spells it, or a lower-case role name
    company_nit: str | None  # None: every company


def user_roles(user: Any) -> tuple[str, ...]:
    """The role names of an auth manager's user, lower-case: the simple auth manager's one ``role``,
    the FAB auth manager's ``roles`` (objects with a ``name``)."""
    names: list[str] = []
    role = getattr(user, "role", None)
    if isinstance(role, str) and role:
        names.append(role)
    for item in getattr(user, "roles", None) or ():
        name = getattr(item, "name", item)
        if isinstance(name, str) and name:
            names.append(name)
    return tuple(dict.fromkeys(n.lower() for n in names))


def configured_roles(user_name: str) -> tuple[str, ...]:
    """A user's roles as the simple auth manager's configuration declares them (``[core]
    simple_auth_manager_users``, ``simple_auth_manager_all_admins``); () under another auth manager,
    whose users live in Airflow's metadata database, which a task cannot read."""
    from airflow.configuration import conf

    manager = conf.get("core", "auth_manager", fallback="") or ""
    if not manager.endswith("simple_auth_manager.SimpleAuthManager"):
        return ()
    if conf.getboolean("core", "simple_auth_manager_all_admins", fallback=False):
        return (ADMIN_ROLE,)
    for entry in conf.getlist("core", "simple_auth_manager_users", fallback=[]) or []:
        name, _, rest = entry.partition(":")
        if name == user_name and rest:
            return (rest.split(":")[0].lower(),)
    return ()


def is_admin(roles: Iterable[str]) -> bool:
    return any(r.lower() == ADMIN_ROLE for r in roles)


def allowed_companies(user_name: str, roles: Iterable[str]) -> frozenset[str] | None:
    """The NITs a user may see and act on; None means every company."""
    roles = tuple(r.lower() for r in roles)
    if is_admin(roles):
        return None
    rows = db.query("company_access_for", {"user_name": user_name, "roles": list(roles)})
    nits = [row["company_nit"] for row in rows]
    if any(nit is None for nit in nits):
        return None
    return frozenset(nits)


def may_act(user_name: str, roles: Iterable[str] | None, company_nit: str) -> bool:
    """Whether ``user_name`` may see, correct and approve ``company_nit``.

    ``roles`` are the user's auth-manager roles; None (an approval step knows only the HITL answer's
    user name) reads them from the simple auth manager's configuration, see ``configured_roles``.
    """
    if not user_name:
        return False
    known = configured_roles(user_name) if roles is None else tuple(roles)
    allowed = allowed_companies(user_name, known)
    return allowed is None or company_nit in allowed


# --- the grants file --------------------------------------------------------------------------------


def _parse_row(row: dict[str, str], line: int) -> Grant:
    user, role = (row.get("user") or "").strip(), (row.get("role") or "").strip()
    if bool(user) == bool(role):
        raise AccessFileError(f"line {line}: fill exactly one of user and role")
    company = (row.get("company") or "").strip()
    if not company:
        raise AccessFileError(f"line {line}: company is empty (a NIT, or * for every company)")
    nit = None
    if company != EVERY_COMPANY:
        try:
            nit = parse_nit(company)[0]
        except InvalidNit as exc:
            raise AccessFileError(f"line {line}: {exc}") from None
    return Grant("user", user, nit) if user else Grant("role", role.lower(), nit)


def read_csv(path: Path) -> list[Grant]:
    """Parse and validate the whole file (every company must be in the registry) before any write."""
    grants = spreadsheet.read_rows(path, CSV_COLUMNS, _parse_row, AccessFileError)
    known = {row["nit"] for row in db.query("company_access_known_nits")}
    for grant in grants:
        if grant.company_nit is not None and grant.company_nit not in known:
            raise AccessFileError(f"{path}: company {grant.company_nit} is not in the registry (quincena companies)")
    return grants


def replace(grants: list[Grant]) -> int:
    """Every grant becomes the given list, in one transaction."""
    with db.transaction() as cur:
        cur.execute(db.load_sql("company_access_clear"))
        db.execute_many("company_access_insert", [asdict(g) for g in grants], cur)
    return len(grants)


def grant_user(user_name: str, nits: Iterable[str]) -> None:
    """``user_name``'s grants become exactly ``nits`` (the demo's accountant); other grants are kept."""
    rows = [asdict(Grant("user", user_name, nit)) for nit in nits]
    with db.transaction() as cur:
        cur.execute(db.load_sql("company_access_clear_user"), {"user_name": user_name})
        db.execute_many("company_access_insert", rows, cur)


def grants() -> list[dict[str, Any]]:
    return db.query("company_access_list")
