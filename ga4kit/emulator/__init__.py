"""A local GA4: the Admin and Data APIs over gRPC, for the real Google client libraries, and beside it a
Google Sheets v4 stand-in over HTTP (``emu.sheets``, ``emu.sheets_endpoint``).

It imports nothing from the rest of ga4kit, so it can catch ga4kit's mistakes instead of sharing them.

    from ga4kit.emulator import Emulator
    with Emulator(demo=True, days=30, users=500) as emu:
        print(emu.address)          # 127.0.0.1:PORT, for make_clients(emulator=...) / GA4KIT_EMULATOR_HOST

See docs/emulator-contract.md for how the parts fit together.
"""

from ga4kit.emulator.admin_state import AdminState, PropertyInfo, RuleInfo
from ga4kit.emulator.errors import EmulatorError
from ga4kit.emulator.faults import Faults, parse_fault
from ga4kit.emulator.quota import AdminQuota, AdminQuotaLimits
from ga4kit.emulator.server import SERVICES, CallRecord, Emulator
from ga4kit.emulator.sheets import SheetsLimits, SheetsStandIn

__all__ = ["Emulator", "CallRecord", "Faults", "parse_fault", "AdminState", "PropertyInfo", "RuleInfo",
           "EmulatorError", "SERVICES", "AdminQuota", "AdminQuotaLimits", "SheetsStandIn", "SheetsLimits"]
