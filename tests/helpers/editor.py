"""Profiles and sheets for the editor and import dialog tests (pytest-qt, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opus_desktop.profiles import Profile, save_profile
from opus_desktop.sandbox_profiles import demo_sheet_path
from tests.helpers.workbooks import DEMO

DEMO_SHEET = Path(demo_sheet_path())
# Excel rows of the demo sheet's six planted mistakes (tools/make_demo_sheet.py).
DEMO_PLANTED = {
    9: "Created time",
    17: "Record Owner",
    28: "Security Level",
    41: "Name",
    56: "Classification",
    73: "Page Count",
}


def demo_profile(name: str = "Demo", **changes: Any) -> Profile:
    """A saved profile with the demo template, options and terms; no sandbox needed."""
    tenant = json.loads((DEMO / "tenant.json").read_text(encoding="utf-8"))
    fields: dict[str, Any] = {
        "name": name,
        "client_id": "11111111-2222-3333-4444-555555555555",
        "api_url": "https://graph-au.avepointonlineservices.com",
        "cert_pem": "demo-cert.pem",
        "key_pem": "demo-key.pem",
        "date_format": tenant["date_format"],
        "choices": tenant["choices"],
        "terms": {column: list(paths) for column, paths in tenant["terms"].items()},
    }
    fields.update(changes)
    return save_profile(Profile(**fields), DEMO / "template.json")


def sandbox_profile(directory: Path) -> Profile:
    """The "Sandbox" profile as `opus-desktop --sandbox` writes it (sandbox not started)."""
    from opus_desktop.sandbox import Sandbox, SandboxConfig
    from opus_desktop.sandbox_profiles import save_sandbox_profiles

    sandbox = Sandbox(SandboxConfig(directory=directory))
    try:
        return save_sandbox_profiles(sandbox)
    finally:
        sandbox.stop()
