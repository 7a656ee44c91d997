"""Signing in reads accounts from a cache that is checked against the event store on
every use (ADR 0010): a change made by another process counts at once."""

from collections.abc import Callable

from workers.bootstrap import System


def test_a_key_revoked_or_an_account_disabled_elsewhere_is_refused_at_once(
    make_system: Callable[..., System],
) -> None:
    api, admin = make_system(), make_system()  # two processes on one event store
    admin.app.open_account("scanner.kb", "Máy quét", roles=["auditor"])
    key_id, key = admin.app.issue_api_key("scanner.kb", "scanner")
    _, other = admin.app.issue_api_key("scanner.kb", "spare")
    assert api.app.sign_in_with_key(key) is not None  # now cached in `api`

    admin.app.revoke_api_key("scanner.kb", key_id)
    assert api.app.sign_in_with_key(key) is None
    assert api.app.sign_in_with_key(other) is not None

    admin.app.disable_account("scanner.kb", "left")
    assert api.app.sign_in_with_key(other) is None
    admin.app.enable_account("scanner.kb")
    assert api.app.sign_in_with_key(other) is not None
