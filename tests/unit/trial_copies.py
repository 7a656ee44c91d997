"""A copy of an aggregate (or a world of them) for a state machine to try a step on, and
drop if the step is refused: independent of the original down to its pending events. By
pickle, not copy.deepcopy: the same copy in about a quarter of the time (430 µs → 95 µs
for an ILL request), and the state machines take thousands of them per run."""

from __future__ import annotations

import pickle
from typing import TypeVar

T = TypeVar("T")


def trial_copy(thing: T) -> T:
    copied: T = pickle.loads(pickle.dumps(thing, pickle.HIGHEST_PROTOCOL))
    return copied
