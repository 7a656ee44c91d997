"""The accounts read model: who holds which roles in which library, their API keys (ids
and labels, never secrets), and each account's history with who changed it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from infra.envelope import Envelope
from projections.projection import Projection, Statement

EVENT = "libshare.account.{}.v1"


class AccountsProjection(Projection):
    name = "accounts"
    handles = frozenset(
        EVENT.format(e)
        for e in (
            "Opened",
            "RoleGranted",
            "RoleRevoked",
            "Disabled",
            "Enabled",
            "PasswordSet",
            "ApiKeyIssued",
            "ApiKeyRevoked",
            "MovedToLibrary",
        )
    )
    tables = ("accounts", "account_keys", "account_history")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.accounts (
        username text PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        display_name text NOT NULL,
        library text,
        partner text,
        roles text[] NOT NULL DEFAULT '{{}}',
        disabled boolean NOT NULL DEFAULT false,
        opened_at timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS accounts_by_library ON {schema}.accounts (library);
    CREATE TABLE IF NOT EXISTS {schema}.account_keys (
        key_id text PRIMARY KEY,
        account uuid NOT NULL,
        label text NOT NULL,
        revoked boolean NOT NULL DEFAULT false,
        issued_at timestamptz NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {schema}.account_history (
        account uuid NOT NULL,
        version bigint NOT NULL,
        event text NOT NULL,
        at timestamptz NOT NULL,
        actor jsonb,
        data jsonb NOT NULL,
        PRIMARY KEY (account, version)
    );
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, kind, aid = event.data, event.type.split(".")[2], event.aggregate_id
        accounts, keys = self.table("accounts"), self.table("account_keys")
        if kind == "Opened":
            yield (
                f"INSERT INTO {accounts} (username, id, display_name, library, partner, "
                "opened_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (d["username"], aid, d["display_name"], d["library"], d["partner"], event.time),
            )
        elif kind == "RoleGranted":
            yield (
                f"UPDATE {accounts} SET roles = array_append(array_remove(roles, %s), %s) "
                "WHERE id = %s",
                (d["role"], d["role"], aid),
            )
        elif kind == "RoleRevoked":
            yield (
                f"UPDATE {accounts} SET roles = array_remove(roles, %s) WHERE id = %s",
                (d["role"], aid),
            )
        elif kind in ("Disabled", "Enabled"):
            yield (
                f"UPDATE {accounts} SET disabled = %s WHERE id = %s",
                (kind == "Disabled", aid),
            )
        elif kind == "ApiKeyIssued":
            yield (
                f"INSERT INTO {keys} (key_id, account, label, issued_at) VALUES (%s, %s, %s, %s)",
                (d["key_id"], aid, d["label"], event.time),
            )
        elif kind == "MovedToLibrary":
            yield (f"UPDATE {accounts} SET library = %s WHERE id = %s", (d["library"], aid))
        elif kind == "ApiKeyRevoked":
            yield (f"UPDATE {keys} SET revoked = true WHERE key_id = %s", (d["key_id"],))
        yield (
            f"INSERT INTO {self.table('account_history')} "
            "(account, version, event, at, actor, data) VALUES (%s, %s, %s, %s, %s, %s)",
            (
                aid,
                event.version,
                kind,
                event.time,
                json.dumps(event.actor) if event.actor else None,
                json.dumps(d, ensure_ascii=False),
            ),
        )


COLUMNS = "a.username, a.display_name, a.library, a.partner, a.roles, a.disabled, a.opened_at"


def list_accounts(
    conn: psycopg.Connection[Any], library: str | None = None
) -> list[dict[str, Any]]:
    """Every account, or those of one library."""
    sql = f"SELECT {COLUMNS} FROM accounts a"
    params: tuple[Any, ...] = ()
    if library is not None:
        sql += " WHERE a.library = %s"
        params = (library,)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql + " ORDER BY a.username", params).fetchall()
    for r in rows:
        r["roles"] = sorted(r["roles"])
    return rows


def usernames_of(conn: psycopg.Connection[Any], library: str) -> list[str]:
    """The accounts of a library (what a merge or a re-code moves)."""
    rows = conn.execute(
        "SELECT username FROM accounts WHERE library = %s ORDER BY username", (library,)
    ).fetchall()
    return [r[0] for r in rows]


def account_detail(conn: psycopg.Connection[Any], username: str) -> dict[str, Any] | None:
    """One account with its keys (ids and labels) and its history (who did what when)."""
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(
            f"SELECT a.id, {COLUMNS} FROM accounts a WHERE a.username = %s", (username,)
        ).fetchone()
        if found is None:
            return None
        aid = found.pop("id")
        found["roles"] = sorted(found["roles"])
        found["api_keys"] = cur.execute(
            "SELECT key_id, label, revoked, issued_at FROM account_keys WHERE account = %s "
            "ORDER BY issued_at, key_id",
            (aid,),
        ).fetchall()
        found["history"] = cur.execute(
            "SELECT version, event, at, actor, data FROM account_history WHERE account = %s "
            "ORDER BY version",
            (aid,),
        ).fetchall()
    return found
