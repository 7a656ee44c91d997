"""Who acts in tests that call the services directly (every command names its actor)."""

from datetime import date

from domain.access import Actor
from domain.legal_act import LegalAct

TESTER: Actor = {"account": "test", "role": "network_admin"}

# The act that reorganised the province in 2025 (tests that rename or merge name one).
ACT_2025 = LegalAct("Nghị quyết 202/2025/QH15", date(2025, 6, 12), date(2025, 7, 1))
