"""Known Opus hosts (DESIGN §1), offered as presets beside a free-text URL."""

from __future__ import annotations

GRAPH_DATA_CENTRES: tuple[str, ...] = (
    "au",
    "sg",
    "ca",
    "ne",
    "we",
    "fr",
    "de",
    "jp",
    "kr",
    "ch",
    "uk",
    "us",
    "uae",
    "za",
    "qa",
    "gov",
    "aos2",
    "gcp-au",
    "gcp-jp",
    "gcp-us",
    "gcp-we",
    "gcp-kr",
)


def graph_url(data_centre: str) -> str:
    return f"https://graph-{data_centre}.avepointonlineservices.com"


GRAPH_PRESETS: dict[str, str] = {dc: graph_url(dc) for dc in GRAPH_DATA_CENTRES}
GRAPH_PRESETS["fedramp"] = "https://graphusgovapi.online15.net"

IDENTITY_PRESETS: dict[str, str] = {
    "commercial": "https://identity.avepointonlineservices.com",
    "us-gov": "https://identity-gov.avepointonlineservices.com",
    "aos2": "https://identity-aos2.avepointonlineservices.com",
    "fedramp": "https://identity.online15.net",
}

DEFAULT_IDENTITY = IDENTITY_PRESETS["commercial"]
PROTOCOLS = ("graph", "legacy")
