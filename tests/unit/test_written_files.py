"""Every file a command writes is named in what it prints (a CSV report is two files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opus_desktop import profiles
from opus_desktop.cli import main
from opus_desktop.profiles import Profile

DEMO = Path(__file__).resolve().parents[2] / "opus_desktop" / "resources" / "demo"


@pytest.fixture
def demo_profile(tmp_path: Path) -> Profile:
    tenant = json.loads((DEMO / "tenant.json").read_text(encoding="utf-8"))
    key = tmp_path / "k.pem"
    key.write_text("unused")
    profile = Profile(
        name="Demo",
        client_id="c",
        api_url="http://127.0.0.1:9",
        identity_url="http://127.0.0.1:9/identity",
        cert_pem=str(key),
        key_pem=str(key),
        choices=tenant["choices"],
        terms={column: list(terms) for column, terms in tenant["terms"].items()},
    )
    return profiles.save_profile(profile, DEMO / "template.json")


def written_and_told(
    capsys: pytest.CaptureFixture[str], folder: Path, argv: list[str]
) -> tuple[int, set[str], str]:
    folder.mkdir()
    code = main(argv)
    out = capsys.readouterr().out
    return code, {path.name for path in folder.iterdir()}, out


COMMANDS = {
    "validate": ["validate"],
    "submit --dry-run": ["submit", "--dry-run"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_report_file_written_is_named(
    demo_profile: Profile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    suffix: str,
) -> None:
    folder = tmp_path / "out"
    report = folder / f"report{suffix}"
    argv = [*COMMANDS[command], "--profile", "Demo", "--input", str(DEMO / "demo-records.xlsx")]
    code, written, out = written_and_told(capsys, folder, [*argv, "--report", str(report)])
    assert code == 1  # the demo sheet has invalid rows
    assert written and all(str(folder / name) in out for name in written), (written, out)
    assert len(written) == (2 if suffix == ".csv" else 1)
