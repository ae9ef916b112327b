"""Which currency a time zone's country uses, to spot a property whose currency and time zone disagree
(often a setting left at GA4's default). The zone's country comes from the IANA ``zone.tab`` (shipped by
the ``tzdata`` package, or the system's); a zone without one (UTC, Etc/...) or a country missing here
gives None: no opinion rather than a guess."""

from __future__ import annotations

import functools
from pathlib import Path

_EURO = ("AD AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MC ME MT NL PT SI SK SM VA XK GP GF MQ RE YT PM BL MF "
         "AX").split()
_OTHER = """
AE AED AF AFN AL ALL AM AMD AO AOA AR ARS AU AUD AZ AZN BA BAM BD BDT BG BGN BH BHD BO BOB BR BRL BY BYN CA CAD
CH CHF CL CLP CN CNY CO COP CR CRC CZ CZK DK DKK DO DOP DZ DZD EG EGP ET ETB GB GBP GE GEL GH GHS GT GTQ HK HKD
HN HNL HU HUF ID IDR IL ILS IN INR IQ IQD IR IRR IS ISK JM JMD JO JOD JP JPY KE KES KG KGS KH KHR KR KRW KW KWD
KZ KZT LB LBP LI CHF LK LKR MA MAD MD MDL MK MKD MN MNT MO MOP MX MXN MY MYR NG NGN NI NIO NO NOK NP NPR NZ NZD
OM OMR PA PAB PE PEN PH PHP PK PKR PL PLN PY PYG QA QAR RO RON RS RSD RU RUB SA SAR SE SEK SG SGD TH THB TN TND
TR TRY TW TWD TZ TZS UA UAH UG UGX US USD UY UYU UZ UZS VE VES VN VND ZA ZAR ZM ZMW
""".split()
CURRENCY_OF_COUNTRY = {**{c: "EUR" for c in _EURO}, **dict(zip(_OTHER[::2], _OTHER[1::2]))}


@functools.lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    candidates = []
    try:
        import tzdata

        candidates.append(Path(tzdata.__file__).parent / "zoneinfo" / "zone.tab")
    except ImportError:  # pragma: no cover (pandas brings tzdata along)
        pass
    candidates.append(Path("/usr/share/zoneinfo/zone.tab"))
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                parts = line.split("\t")
                if len(parts) >= 3:
                    out[parts[2]] = parts[0]
        return out
    return {}


def zone_currency(zone: str | None) -> tuple[str, str] | None:
    """(country code, currency) of the country a time zone belongs to, or None when not known."""
    if not zone:
        return None
    country = _zone_countries().get(zone)
    if country is None or country not in CURRENCY_OF_COUNTRY:
        return None
    return country, CURRENCY_OF_COUNTRY[country]
