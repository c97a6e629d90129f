"""Stumbles a new user met on the command line, against the sandbox: a second sandbox on a
port in use, an empty due list, sending the failed rows of a run that has none."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from opus_desktop.cli import main
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.helpers.workbooks import write_csv


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_sandbox_on_a_port_in_use_says_so_in_one_sentence(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(urlsplit(sandbox.url).port)
    code, out, err = run(capsys, "sandbox", "--port", port)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert f"port {port} is in use" in err and "--port" in err


def test_nothing_due_prints_no_empty_table(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    save_sandbox_profiles(sandbox)
    code, out, _ = run(capsys, "due", "--profile", "Sandbox", "--before", "1990-01-01T00:00:00")
    assert code == 0
    assert out == "0 records due for disposal before 1990-01-01 00:00:00.\n"


def test_retry_failed_of_a_run_without_failures_says_nothing_is_sent(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_sandbox_profiles(sandbox)
    header = ["Row key", "Name", "Created time", "Modified time", "Created by", "Modified by"]
    rows = [
        [f"K-{n}", f"Doc {n}", "2020-01-02 03:04:05", "2020-01-02 03:04:05", "a", "a"]
        for n in range(3)
    ]
    sheet = write_csv(tmp_path / "three.csv", [header, *rows])
    code, out, _ = run(capsys, "submit", "--profile", "Sandbox", "--input", str(sheet))
    assert code == 0, out
    code, out, err = run(capsys, "runs", "retry-failed", "last")
    assert code == 0
    assert "no failed records to send (3 stored already), so nothing is sent." in out
    assert err.count("3 / 3 records") <= 1


def test_the_sandbox_says_the_faults_it_was_started_with() -> None:
    from opus_desktop.cli import build_parser
    from opus_desktop.cli.sandbox_cmd import faults_line

    flaky = build_parser().parse_args(
        ["sandbox", "--throttle-rate", "0.2", "--drop-rate", "0.05", "--latency-ms", "30"]
    )
    assert faults_line(flaky) == (
        "latency 30 ms, 20 % throttled (429), 0 % failing (503), 5 % dropped"
    )
    calm = build_parser().parse_args(["sandbox"])
    assert faults_line(calm).endswith(
        ": no faults (--throttle-rate, --fail-rate, --drop-rate add some)"
    )
