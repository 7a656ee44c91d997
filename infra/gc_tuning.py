"""The garbage collector's settings for the commands that work in batches: `libshare
projector`, `libshare relay` and `libshare projections rebuild`, set once at start-up
(ADR 0015). Not for the API: a larger youngest generation also makes each middle-
generation collection larger, a pause in the middle of requests, and it did not help
appends."""

from __future__ import annotations

import gc

# Container objects allocated (net) before the youngest generation is collected: 700 by
# default. A projector's batch of 2,000 Kafka records keeps some 50,000 objects alive
# until it commits, so at 700 each batch was collected dozens of times, its survivors
# moved to the old generation, and that pushed a full collection of every object in the
# process every few batches. Measured (ADR 0015), collections (young / middle / full) at
# 700 and at 20,000: projecting 28,000 events from Kafka 800 / 73 / 7 and 14 / 1 / 0,
# ~+20% events/s; relaying 30,000 ~420 / 38 / 3 and 11 / 1 / 0, ~+18%; rebuilding from
# 30,000 ~240 / 22 / 2 and 6 / 0 / 0, ~+11%. Cycles are still collected, in larger steps.
GEN0_THRESHOLD = 20_000


def tune_gc() -> None:
    """Raise the youngest generation's threshold; the older ones keep theirs."""
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
