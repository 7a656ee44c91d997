"""What each party to an interlibrary loan request may do in each status: the UI and the
API offer these (one function for both); the aggregate (domain/ill_request.py) enforces
them on its own."""

from __future__ import annotations

from domain.ill_status import ON_LOAN, ServiceType, Status

# What each party may do in each status (the UI offers these; the aggregate enforces them).
_REQUESTER_ACTIONS: dict[Status, tuple[str, ...]] = {
    Status.REQUEST_RECEIVED: ("Cancel", "Notification", "StatusRequest"),
    Status.EXPECT_TO_SUPPLY: ("Cancel", "Notification", "StatusRequest"),
    Status.WILL_SUPPLY: ("Cancel", "Notification", "StatusRequest"),
    Status.RETRY_POSSIBLE: ("AcceptConditions", "DeclineConditions", "Cancel", "Notification"),
    Status.CANCEL_PENDING: ("Notification", "StatusRequest"),
    Status.LOANED: ("Received", "Notification", "StatusRequest", "Lost"),
    Status.RECEIVED: (
        "Renew",
        "ShippedReturn",
        "ShippedForward",
        "HoldReturn",
        "Notification",
        "Lost",
    ),
    Status.OVERDUE: ("Renew", "ShippedReturn", "HoldReturn", "Notification", "Lost"),
    Status.RECALLED: ("ShippedReturn", "HoldReturn", "Notification", "Lost"),
    Status.SHIPPED_RETURN: ("Notification", "StatusRequest"),
}
_SUPPLIER_ACTIONS: dict[Status, tuple[str, ...]] = {
    Status.REQUEST_RECEIVED: (
        "ExpectToSupply",
        "WillSupply",
        "RetryPossible",
        "Unfilled",
        "Loaned",
        "CopyCompleted",
        "Notification",
    ),
    Status.EXPECT_TO_SUPPLY: (
        "WillSupply",
        "RetryPossible",
        "Unfilled",
        "Loaned",
        "CopyCompleted",
        "Notification",
    ),
    Status.WILL_SUPPLY: ("Loaned", "CopyCompleted", "Unfilled", "Notification"),
    Status.RETRY_POSSIBLE: ("Notification",),
    Status.CANCEL_PENDING: ("CancelResponse", "Notification"),
    Status.LOANED: ("CompletedWithoutReturn", "Notification"),
    Status.RECEIVED: (
        "Recalled",
        "HoldReturn",
        "ReleaseHoldReturn",
        "CompletedWithoutReturn",
        "Notification",
    ),
    Status.OVERDUE: (
        "Recalled",
        "HoldReturn",
        "ReleaseHoldReturn",
        "CompletedWithoutReturn",
        "Notification",
    ),
    Status.RECALLED: ("HoldReturn", "ReleaseHoldReturn", "CompletedWithoutReturn", "Notification"),
    Status.SHIPPED_RETURN: ("LoanCompleted", "CompletedWithoutReturn", "Notification"),
}
ALL_ACTIONS: tuple[str, ...] = (
    *tuple(
        dict.fromkeys(
            a
            for table in (_REQUESTER_ACTIONS, _SUPPLIER_ACTIONS)
            for acts in table.values()
            for a in acts
        )
    ),
    "RenewResponse",
)
_LOAN_ONLY = frozenset(
    {
        "Loaned",
        "Received",
        "Renew",
        "ShippedReturn",
        "ShippedForward",
        "Lost",
        "HoldReturn",
        "ReleaseHoldReturn",
    }
)


def available_actions(
    status: str,
    service_type: str,
    party: str | None,
    renew_pending: bool = False,
    awaiting_receipt: bool = False,
    return_held: str = "",
) -> list[str]:
    """The actions `party` ("requester" or "supplier") may take now. `awaiting_receipt`:
    the item went overdue or was recalled before the requester confirmed its receipt;
    `return_held`: which party holds the item's return (HoldReturn), if one does."""
    table = {"requester": _REQUESTER_ACTIONS, "supplier": _SUPPLIER_ACTIONS}.get(party or "")
    if table is None:
        return []
    actions = list(table.get(Status(status), ()))
    if awaiting_receipt and party == "requester" and status in (Status.OVERDUE, Status.RECALLED):
        actions.insert(0, "Received")
    if service_type == ServiceType.COPY:
        actions = [a for a in actions if a not in _LOAN_ONLY]
    else:
        actions = [a for a in actions if a != "CopyCompleted"]
    if return_held:  # one hold at a time; only the supplier's is released, and it stops
        held = {"HoldReturn", *(("ShippedReturn",) if return_held == "supplier" else ())}
        actions = [a for a in actions if a not in held]
    if return_held != "supplier":
        actions = [a for a in actions if a != "ReleaseHoldReturn"]
    if renew_pending:
        actions = [a for a in actions if a != "Renew"]
        if party == "supplier" and status in ON_LOAN:
            actions.insert(0, "RenewResponse")
    return actions
