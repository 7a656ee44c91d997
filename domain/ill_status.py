"""An interlibrary loan request's statuses, the transitions between them, and the reasons
its parties give, in ISO 18626's names (see ../shared/iso18626.md). The aggregate
(domain/ill_request.py) follows them; domain/ill_actions.py says who may act in each."""

from __future__ import annotations

from enum import StrEnum


class ServiceType(StrEnum):
    LOAN = "Loan"  # returnable
    COPY = "Copy"  # non-returnable, e.g. a scanned chapter


class Status(StrEnum):
    REQUEST_RECEIVED = "RequestReceived"  # with the current supplier, awaiting its answer
    EXPECT_TO_SUPPLY = "ExpectToSupply"
    WILL_SUPPLY = "WillSupply"
    RETRY_POSSIBLE = "RetryPossible"  # conditions offered; the requester accepts or declines
    CANCEL_PENDING = "CancelPending"  # the requester asked to cancel; the supplier answers
    LOANED = "Loaned"  # shipped by the supplier
    RECEIVED = "Received"  # at the requesting library (ISO: requester action Received)
    OVERDUE = "Overdue"
    RECALLED = "Recalled"
    SHIPPED_RETURN = "ShippedReturn"
    SHIPPED_FORWARD = "ShippedForward"  # passed on to another requester of the same supplier
    LOAN_COMPLETED = "LoanCompleted"
    COPY_COMPLETED = "CopyCompleted"
    COMPLETED_WITHOUT_RETURN = "CompletedWithoutReturn"
    UNFILLED = "Unfilled"
    CANCELLED = "Cancelled"


TERMINAL = frozenset(
    {
        Status.LOAN_COMPLETED,
        Status.COPY_COMPLETED,
        Status.COMPLETED_WITHOUT_RETURN,
        Status.UNFILLED,
        Status.CANCELLED,
        Status.SHIPPED_FORWARD,
    }
)
BEFORE_SHIPPING = frozenset(
    {Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY, Status.RETRY_POSSIBLE}
)
ON_LOAN = frozenset({Status.RECEIVED, Status.OVERDUE, Status.RECALLED})
# Statuses that wait on one party to answer, each with a deadline (`answer_due`).
WAITING = frozenset(
    {
        Status.REQUEST_RECEIVED,
        Status.EXPECT_TO_SUPPLY,
        Status.WILL_SUPPLY,
        Status.RETRY_POSSIBLE,
        Status.CANCEL_PENDING,
    }
)
DEFAULT_ANSWER_HOURS = 48  # LendingPolicy's default answer_timeout_hours

# The transitions ISO 18626's lifecycle permits (from -> possible next statuses).
ALLOWED_NEXT: dict[Status, frozenset[Status]] = {
    Status.REQUEST_RECEIVED: frozenset(
        {
            Status.EXPECT_TO_SUPPLY,
            Status.WILL_SUPPLY,
            Status.RETRY_POSSIBLE,
            Status.LOANED,
            Status.COPY_COMPLETED,
            Status.REQUEST_RECEIVED,
            Status.UNFILLED,
            Status.CANCEL_PENDING,
        }
    ),
    Status.EXPECT_TO_SUPPLY: frozenset(
        {
            Status.WILL_SUPPLY,
            Status.RETRY_POSSIBLE,
            Status.LOANED,
            Status.COPY_COMPLETED,
            Status.REQUEST_RECEIVED,
            Status.UNFILLED,
            Status.CANCEL_PENDING,
        }
    ),
    Status.WILL_SUPPLY: frozenset(
        {
            Status.LOANED,
            Status.COPY_COMPLETED,
            Status.REQUEST_RECEIVED,
            Status.UNFILLED,
            Status.CANCEL_PENDING,
        }
    ),
    Status.RETRY_POSSIBLE: frozenset(
        {Status.WILL_SUPPLY, Status.REQUEST_RECEIVED, Status.UNFILLED, Status.CANCELLED}
    ),
    Status.CANCEL_PENDING: frozenset(
        {Status.CANCELLED, Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY}
    ),
    Status.LOANED: frozenset({Status.RECEIVED, Status.OVERDUE, Status.COMPLETED_WITHOUT_RETURN}),
    Status.RECEIVED: frozenset(
        {
            Status.OVERDUE,
            Status.RECALLED,
            Status.SHIPPED_RETURN,
            Status.COMPLETED_WITHOUT_RETURN,
            Status.SHIPPED_FORWARD,
        }
    ),
    Status.OVERDUE: frozenset(
        {
            Status.RECEIVED,
            Status.LOANED,  # renewed before its receipt was confirmed
            Status.RECALLED,
            Status.SHIPPED_RETURN,
            Status.COMPLETED_WITHOUT_RETURN,
        }
    ),
    Status.RECALLED: frozenset(
        {Status.OVERDUE, Status.SHIPPED_RETURN, Status.COMPLETED_WITHOUT_RETURN}
    ),
    Status.SHIPPED_RETURN: frozenset({Status.LOAN_COMPLETED, Status.COMPLETED_WITHOUT_RETURN}),
    **{s: frozenset() for s in TERMINAL},
}

# ISO 18626 reasonUnfilled values we accept, plus our routing outcomes.
REASONS_UNFILLED = frozenset(
    {
        "NotHeld",
        "NotOnShelf",
        "NonCirculating",
        "OnLoan",
        "PolicyProblem",
        "Damaged",
        "NotFoundAsCited",
        "Other",
    }
)
# A request on a digital pool's waitlist whose wait ran out before a copy came free.
DIGITAL_WAIT_ENDED = "DigitalWaitEnded"
ROUTING_OUTCOMES = frozenset(
    {"AnswerTimedOut", "ConditionsDeclined", "ConditionsNotAnswered", DIGITAL_WAIT_ENDED}
)
# Why the timer cancelled a request whose supplier never answered the Cancel.
CANCEL_NOT_ANSWERED = "CancelNotAnswered"
# Our conditions and the ISO 18626 reasonRetry each one is sent with.
REASON_RETRY = {
    "LibraryUseOnly": "LoanCondition",
    "NoReproduction": "LoanCondition",
    "Cost": "CostExceedsMaxCost",
    "LaterDate": "NotCurrentAvailableForILL",
}
CONDITION_KINDS = frozenset(REASON_RETRY)
UNFILLED_NO_CANDIDATES = "NoSupplierHoldsAnAvailableCopy"
