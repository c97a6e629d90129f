"""Run mutmut over each core module with only the tests that cover it, then report.

`make mutate` runs this from the repository root in the virtual environment that has
mutmut. One mutmut run over all ten modules with the whole suite took over an hour on two
cores: a surviving mutant runs every test that touches its function, and integration tests
touch nearly all of them. So each module gets its own run, in its own copy of the tree under
build/mutate/ (mutmut reads ./pyproject.toml and writes ./mutants), with a [tool.mutmut]
that mutates that module alone and selects the test files in TESTS below. Then
tools/mutation_report.py prints the kill rate per module and every survivor.

`tools/mutate.py pace retry` runs those modules only; `--report` reports the last runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutate"
UNIT, INTEGRATION = "tests/unit/", "tests/integration/"
# The tests that state each module's behaviour: its own, those of the code that drives it
# directly, and the sandbox tests that run it over HTTP.
TESTS: dict[str, list[str]] = {
    "core/values.py": [
        UNIT + "test_values.py",
        UNIT + "test_validation.py",
        UNIT + "test_records.py",
        UNIT + "test_reports.py",
        UNIT + "test_values_cells.py",
        UNIT + "test_date_order.py",
    ],
    "core/datetimes.py": [
        UNIT + "test_datetimes.py",
        UNIT + "test_datetimes_limits.py",
        UNIT + "test_date_order.py",
        UNIT + "test_values.py",
    ],
    "core/mapping.py": [
        UNIT + "test_mapping.py",
        UNIT + "test_mapping_edges.py",
        UNIT + "test_validation.py",
        UNIT + "test_sheets.py",
        UNIT + "test_date_order.py",
        UNIT + "test_bad_input_told.py",
    ],
    "core/cell_marks.py": [
        UNIT + "test_cell_marks.py",
        UNIT + "test_sheet_formats.py",
    ],
    "core/sheets.py": [
        UNIT + "test_sheets.py",
        UNIT + "test_sheet_formats.py",
        UNIT + "test_header_row_told.py",
        UNIT + "test_cell_marks.py",
        UNIT + "test_column_checks.py",
        UNIT + "test_bad_input_told.py",
    ],
    "core/clean.py": [
        UNIT + "test_time_order_cases.py",
        UNIT + "test_sheets.py",
        UNIT + "test_column_checks.py",
    ],
    "core/column_checks.py": [
        UNIT + "test_column_checks.py",
        UNIT + "test_validation.py",
        UNIT + "test_date_order.py",
    ],
    "core/validation.py": [
        UNIT + "test_validation.py",
        UNIT + "test_sheet_run_keys.py",
        UNIT + "test_validation_expected.py",
        UNIT + "test_column_checks.py",
        UNIT + "test_date_order.py",
        UNIT + "test_time_order.py",
    ],
    "core/time_order.py": [UNIT + "test_time_order.py", UNIT + "test_time_order_cases.py"],
    "jobs/journal.py": [
        UNIT + "test_journal_edges.py",
        UNIT + "test_runs_items.py",
        UNIT + "test_journal.py",
        UNIT + "test_journal_compact.py",
        UNIT + "test_runs_prune.py",
        UNIT + "test_state.py",
    ],
    "jobs/payloads.py": [
        UNIT + "test_journal_compact.py",
        UNIT + "test_journal.py",
        UNIT + "test_journal_edges.py",
        UNIT + "test_runs_items.py",
        UNIT + "test_runs_prune.py",
    ],
    "jobs/journal_types.py": [
        UNIT + "test_journal_edges.py",
        UNIT + "test_journal.py",
        UNIT + "test_state.py",
    ],
    "jobs/pace.py": [UNIT + "test_pace.py", UNIT + "test_submit.py"],
    "jobs/submit.py": [
        UNIT + "test_submit_edges.py",
        UNIT + "test_submit_pace_edges.py",
        UNIT + "test_submit_outages.py",
        UNIT + "test_submit_limits.py",
        UNIT + "test_submit.py",
        UNIT + "test_settings.py",
    ],
    "jobs/submit_runs.py": [
        UNIT + "test_submit_edges.py",
        UNIT + "test_journal_compact.py",
        UNIT + "test_sheet_run_keys.py",
        UNIT + "test_submit.py",
    ],
    "jobs/outage.py": [
        UNIT + "test_submit_outages.py",
        UNIT + "test_submit_limits.py",
        UNIT + "test_submit_pace_edges.py",
        UNIT + "test_submit.py",
    ],
    "jobs/disposal.py": [
        UNIT + "test_disposal_edges.py",
        UNIT + "test_disposal_outcome_edges.py",
        UNIT + "test_disposal.py",
        UNIT + "test_disposal_signoff.py",
        UNIT + "test_certificate.py",
        UNIT + "test_audit.py",
    ],
    "jobs/disposal_outcome.py": [
        UNIT + "test_disposal_outcome_edges.py",
        UNIT + "test_disposal_edges.py",
        UNIT + "test_disposal.py",
        UNIT + "test_disposal_signoff.py",
        UNIT + "test_certificate.py",
    ],
    "jobs/due.py": [
        UNIT + "test_due_edges.py",
        UNIT + "test_disposal_signoff.py",
        UNIT + "test_disposal.py",
        UNIT + "test_disposal_edges.py",
    ],
    "jobs/due_spool.py": [
        UNIT + "test_due_spool.py",
        UNIT + "test_disposal.py",
    ],
    "jobs/audit.py": [
        UNIT + "test_audit_seal.py",
        UNIT + "test_audit_edges.py",
        UNIT + "test_audit.py",
        UNIT + "test_auditing.py",
    ],
    "jobs/audit_key.py": [
        UNIT + "test_audit_seal.py",
        UNIT + "test_audit_edges.py",
        UNIT + "test_audit.py",
        UNIT + "test_auditing.py",
    ],
    "jobs/audit_anchors.py": [
        UNIT + "test_audit_seal.py",
        UNIT + "test_auditing.py",
    ],
    "opus/protocols.py": [
        UNIT + "test_protocols_edges.py",
        UNIT + "test_protocols_documented.py",
        UNIT + "test_failed_items.py",
        UNIT + "test_client.py",
        UNIT + "test_submit.py",
        UNIT + "test_disposal.py",
    ],
    "opus/retry.py": [
        UNIT + "test_failures.py",
        UNIT + "test_retry_edges.py",
        UNIT + "test_retry.py",
        UNIT + "test_hostile_replies.py",
        UNIT + "test_retry_words.py",
        UNIT + "test_client.py",
        UNIT + "test_auth.py",
    ],
    "opus/auth.py": [
        UNIT + "test_auth_edges.py",
        UNIT + "test_auth.py",
        UNIT + "test_auth_documented.py",
    ],
}
SECTION = re.compile(r"^\[tool\.mutmut\]\n(?:(?!\[).*\n)*", re.MULTILINE)


def work_dir(module: str) -> Path:
    return WORK / module.removesuffix(".py").replace("/", "-")


def tracked_files() -> list[str]:
    """The files of the tree as a clone would have them, plus new ones not yet committed."""
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def config_for(module: str, pyproject: str) -> str:
    """pyproject.toml with a [tool.mutmut] that mutates `module` against its tests only."""
    base = SECTION.search(pyproject)
    if base is None:
        raise SystemExit("pyproject.toml has no [tool.mutmut] section.")
    lines = [
        line
        for line in base.group().splitlines()
        if not line.startswith(("only_mutate", "pytest_add_cli_args_test_selection", "    "))
        and line != "]"
    ]
    selection = ["-m", "not slow", *TESTS[module]]
    lines += [
        f'only_mutate = ["opus_desktop/{module}"]',
        "pytest_add_cli_args_test_selection = [" + ", ".join(f'"{a}"' for a in selection) + "]",
    ]
    return pyproject[: base.start()] + "\n".join(lines) + "\n" + pyproject[base.end() :]


def prepare(module: str) -> Path:
    target = work_dir(module)
    shutil.rmtree(target, ignore_errors=True)
    for name in tracked_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    pyproject = target / "pyproject.toml"
    pyproject.write_text(config_for(module, pyproject.read_text("utf-8")), "utf-8")
    return target


def run(module: str) -> float:
    target = prepare(module)
    mutmut = Path(sys.executable).with_name("mutmut")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()
    print(f"== {module}: {len(TESTS[module])} test files", flush=True)
    # mutmut's progress line is rewritten in place; it goes to a log, the summary here.
    with open(target / "mutmut.log", "w", encoding="utf-8") as log:
        done = subprocess.run(
            [str(mutmut), "run"],
            cwd=target,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    print(f"   {seconds / 60:.1f} min, mutmut exit {done.returncode}", flush=True)
    return seconds


def chosen(names: list[str]) -> list[str]:
    if not names:
        return list(TESTS)
    picked = []
    for name in names:
        found = [m for m in TESTS if Path(m).stem == name or m == name]
        if not found:
            known = ", ".join(Path(m).stem for m in TESTS)
            raise SystemExit(f"No module {name!r} to mutate; the modules are {known}.")
        picked += found
    return picked


def main(argv: list[str]) -> int:
    report_only = "--report" in argv
    modules = chosen([a for a in argv if a != "--report"])
    if not report_only:
        total = sum(run(module) for module in modules)
        print(f"== all runs: {total / 60:.1f} min\n", flush=True)
    dirs = [str(work_dir(m)) for m in modules]
    report = ROOT / "tools" / "mutation_report.py"
    return subprocess.run([sys.executable, str(report), *dirs], cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
