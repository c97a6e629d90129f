"""The ready-made profiles for a running sandbox: "Sandbox" (Graph) and "Sandbox (legacy)".

Written each time a sandbox starts, since its port may change. The demo tenant's
choice options and terms come from the same resource file the sandbox seeds from.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from opus_desktop.paths import demo_sheet_path
from opus_desktop.profiles import SANDBOX_PROFILE, Profile, save_profile

if TYPE_CHECKING:
    from opus_desktop.sandbox.server import Sandbox

LEGACY_PROFILE = f"{SANDBOX_PROFILE} (legacy)"
__all__ = ["LEGACY_PROFILE", "demo_sheet_path", "save_sandbox_profiles"]


def demo_tenant() -> dict[str, Any]:
    text = resources.files("opus_desktop").joinpath("resources/demo/tenant.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def save_sandbox_profiles(sandbox: Sandbox) -> Profile:
    """Write both sandbox profiles for this sandbox; return the Graph one."""
    tenant = demo_tenant()
    terms = {column: list(paths) for column, paths in tenant.get("terms", {}).items()}
    saved: list[Profile] = []
    for name, protocol in ((SANDBOX_PROFILE, "graph"), (LEGACY_PROFILE, "legacy")):
        profile = Profile(
            name=name,
            protocol=protocol,
            client_id=sandbox.client_id,
            api_url=sandbox.api_url,
            identity_url=sandbox.identity_url,
            cert_pem=str(sandbox.cert_pem_path),
            key_pem=str(sandbox.key_pem_path),
            date_format=sandbox.pattern.pattern,
            destroy_path=sandbox.legacy_destroy_path if protocol == "legacy" else "",
            choices=tenant.get("choices", {}),
            terms=terms,
            sandbox=True,
        )
        saved.append(save_profile(profile, sandbox.template_path))
    return saved[0]
