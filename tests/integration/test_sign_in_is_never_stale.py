"""Signing in reads accounts from a cache that is checked against the event store on
every use (ADR 0010): a change made by another process counts at once."""

from collections.abc import Callable

from composition.bootstrap import System
from tests.actors import TESTER


def test_a_key_revoked_or_an_account_disabled_elsewhere_is_refused_at_once(
    make_system: Callable[..., System],
) -> None:
    api, admin = make_system(), make_system()  # two processes on one event store
    admin.accounts.open_account(TESTER, "scanner.kb", "Máy quét", roles=["auditor"])
    key_id, key = admin.accounts.issue_api_key(TESTER, "scanner.kb", "scanner")
    _, other = admin.accounts.issue_api_key(TESTER, "scanner.kb", "spare")
    assert api.accounts.sign_in_with_key(key) is not None  # now cached in `api`

    admin.accounts.revoke_api_key(TESTER, "scanner.kb", key_id)
    assert api.accounts.sign_in_with_key(key) is None
    assert api.accounts.sign_in_with_key(other) is not None

    admin.accounts.disable_account(TESTER, "scanner.kb", "left")
    assert api.accounts.sign_in_with_key(other) is None
    admin.accounts.enable_account(TESTER, "scanner.kb")
    assert api.accounts.sign_in_with_key(other) is not None
