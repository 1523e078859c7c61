"""Partner names and partner-type labels as a partner master system would hold them."""

from __future__ import annotations

import numpy as np

from orchestration.generator.common import pick
from orchestration.generator.reference import Reference

_PREFIXES = [
    "Northwind",
    "Apex",
    "Atlas",
    "Aurora",
    "Beacon",
    "Bluewave",
    "Bridgewater",
    "Cedar",
    "Cobalt",
    "Copperleaf",
    "Crescent",
    "Driftwood",
    "Ember",
    "Evergreen",
    "Falcon",
    "Foxglove",
    "Granite",
    "Greystone",
    "Harbor",
    "Highland",
    "Horizon",
    "Ironclad",
    "Juniper",
    "Kestrel",
    "Keystone",
    "Lakeside",
    "Lumen",
    "Meridian",
    "Mosaic",
    "Nimbus",
    "Orbit",
    "Pinnacle",
    "Polar",
    "Quantum",
    "Redline",
    "Sentinel",
    "Silverline",
    "Summit",
    "Trident",
    "Vertex",
    "Westgate",
    "Zephyr",
]
_CORES = ("Cyber", "Secure", "Net", "Data", "Cloud", "Shield", "Guard", "Logic", "Digital", "IT")
_TYPE_WORDS = {
    "reseller": ("Solutions", "Systems", "Technologies", "IT Solutions"),
    "distributor": ("Distribution", "Supply", "Trading"),
    "msp": ("Managed Services", "Services", "Operations"),
    "isv": ("Software", "Labs", "Analytics"),
    "system_integrator": ("Consulting", "Integration", "Partners", "Advisory"),
    "oem": ("Devices", "Networks", "Appliances"),
    "referral": ("Advisors", "Associates", "Group"),
    "strategic_alliance": ("Global", "Cloud Services", "International"),
}
_LEGAL = {
    "US": "Inc.",
    "CA": "Inc.",
    "GB": "Ltd",
    "IE": "Ltd",
    "DE": "GmbH",
    "AT": "GmbH",
    "CH": "AG",
    "FR": "SAS",
    "NL": "B.V.",
    "BE": "BV",
    "ES": "S.L.",
    "IT": "S.r.l.",
    "SE": "AB",
    "PL": "Sp. z o.o.",
    "JP": "K.K.",
    "AU": "Pty Ltd",
    "NZ": "Ltd",
    "BR": "Ltda.",
    "MX": "S.A. de C.V.",
    "AR": "S.R.L.",
    "CL": "SpA",
    "CO": "S.A.S.",
    "IN": "Pvt Ltd",
    "SG": "Pte Ltd",
    "MY": "Sdn Bhd",
    "KR": "Co., Ltd.",
    "ID": "PT",
}


def partner_names(
    rng: np.random.Generator, type_idx: np.ndarray, hq: np.ndarray, ref: Reference
) -> list[str]:
    n = len(type_idx)
    prefix = rng.integers(0, len(_PREFIXES), n)
    core = rng.integers(-len(_CORES), len(_CORES), n)  # negative: no core word
    word = rng.integers(0, 1 << 30, n)
    out = []
    for i in range(n):
        words = _TYPE_WORDS.get(ref.partner_types[type_idx[i]], ("Partners",))
        parts = [_PREFIXES[prefix[i]]]
        if core[i] >= 0:
            parts.append(_CORES[core[i]])
        parts.append(words[word[i] % len(words)])
        parts.append(_LEGAL.get(ref.countries[hq[i]], "Ltd"))
        out.append(" ".join(parts))
    return out


def _vary(text: str, how: int) -> str:
    """Letter case and padding as typed by hand in a partner master."""
    if how == 0:
        return text.upper()
    if how == 1:
        return text.lower()
    if how == 2:  # title case, keeping underscores: System_Integrator
        return "_".join(w.title() for w in text.split("_"))
    return f" {text} "


def type_labels(rng: np.random.Generator, type_idx: np.ndarray, ref: Reference) -> list[str]:
    """The canonical type for ~80% of partners, an alias from the seed for ~20%; ~10% of all
    labels in another letter case or padded with spaces."""
    n = len(type_idx)
    use_alias = rng.random(n) < 0.20
    alias_pick = rng.integers(0, 1 << 30, n)
    vary = rng.random(n) < 0.10
    how = pick(rng, [1, 1, 1, 1], n)
    out = []
    for i in range(n):
        canonical = ref.partner_types[type_idx[i]]
        aliases = ref.aliases.get(canonical, ())
        label = aliases[alias_pick[i] % len(aliases)] if use_alias[i] and aliases else canonical
        out.append(_vary(label, int(how[i])) if vary[i] else label)
    return out
