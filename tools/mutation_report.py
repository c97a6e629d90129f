"""Print what mutmut found: the kill rate per module and every surviving mutant.

Run by tools/mutate.py (`make mutate`) with the folders it ran mutmut in, each holding a
copy of the tree and its mutants/; with no folder, the mutants/ of a plain `mutmut run`
here. A survivor at a line that docs/testing.md lists as equivalent is marked
"(equivalent)"; the rate is printed both over all mutants and over the rest. Exits 1 when a
module's rate over the rest is under the bar (an equivalent mutant cannot be killed) or
some of its mutants were not run (an interrupted run), so a weakened suite is noticed.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant

BAR = 90.0
MUTANTS = Path("mutants")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
# What mutmut's exit codes mean (mutmut.stats): a timeout or a type error caught it too.
CAUGHT = {
    1: "killed",
    3: "killed",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "type check",
    -11: "crashed",
    -9: "crashed",
}
MISSED = {0: "survived", 5: "no tests", 33: "no tests"}
# `- `core/values.py:226` why` in docs/testing.md.
LISTED = re.compile(r"^\s*[-*]\s+`(?P<module>[\w/]+\.py):(?P<line>\d+)`")
HUNK = re.compile(r"^@@ -(?P<start>\d+)")


def listed_equivalents() -> set[tuple[str, int]]:
    if not DOCS.is_file():
        return set()
    found = set()
    for line in DOCS.read_text("utf-8").splitlines():
        match = LISTED.match(line)
        if match:
            found.add((match["module"], int(match["line"])))
    return found


def function_lines(source: Path) -> dict[str, int]:
    """Where each function and method starts, as mutmut names them (`xǁClassǁname`)."""
    tree = ast.parse(source.read_text("utf-8"))
    starts: dict[str, int] = {}

    def visit(node: ast.AST, owner: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child.name)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                name = f"xǁ{owner}ǁ{child.name}" if owner else f"x_{child.name}"
                starts.setdefault(name, first)

    visit(tree, None)
    return starts


def where(name: str, source: Path, starts: dict[str, int]) -> tuple[int, str, str]:
    """The source line a mutant changes, the line before and after."""
    function = name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    diff = get_diff_for_mutant(name, path=source)
    row, changed, old, new = 0, 0, "", ""
    for line in diff.splitlines()[2:]:
        hunk = HUNK.match(line)
        if hunk:
            if changed:
                break  # the first change is enough to find it
            row = int(hunk["start"])
        elif line.startswith("-"):
            changed, old = changed or row, old or line[1:].strip()
            row += 1
        elif line.startswith("+"):
            changed, new = changed or row, new or line[1:].strip()
        else:
            row += 1
    return starts.get(function, 1) + max(changed, 1) - 1, old, new


def tally_module(meta: Path, listed: set[tuple[str, int]], survivors: list[str]) -> tuple | None:
    """One row of the table for the module a mutmut .meta file holds the results of."""
    module = meta.relative_to(MUTANTS / "opus_desktop").as_posix().removesuffix(".py.meta")
    codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
    if not codes:
        return None
    source = Path("opus_desktop") / f"{module}.py"
    starts = function_lines(source)
    tally: Counter[str] = Counter()
    equivalent = 0
    for name, code in sorted(codes.items()):
        outcome = (
            CAUGHT.get(code) or MISSED.get(code) or ("not run" if code is None else f"exit {code}")
        )
        tally["caught" if code in CAUGHT else outcome] += 1
        if code in CAUGHT or code is None:
            continue
        line, old, new = where(name, source, starts)
        is_listed = (f"{module}.py", line) in listed
        equivalent += is_listed and code == 0
        mark = " (equivalent)" if is_listed else ""
        survivors.append(f"  {module}:{line} {outcome}{mark}: {old}  ->  {new}   [{name}]")
    total = sum(tally.values())
    tried = total - tally["not run"]
    rate = 100.0 * tally["caught"] / max(tried, 1)
    rest = 100.0 * tally["caught"] / max(tried - equivalent, 1)
    return (
        module,
        total,
        tally["not run"],
        tally["caught"],
        tally["survived"],
        tally["no tests"],
        equivalent,
        rate,
        rest,
    )


def main(folders: list[str]) -> int:
    listed = listed_equivalents()
    rows, survivors, failing = [], [], []
    home = Path.cwd()
    for folder in folders or ["."]:
        os.chdir(home / folder)  # mutmut reads mutants/ and the sources from where it ran
        metas = sorted(MUTANTS.glob("opus_desktop/**/*.py.meta"))
        if not metas:
            print(f"No results under {folder}/mutants: run `make mutate` first.")
            return 2
        for meta in metas:
            row = tally_module(meta, listed, survivors)
            if row is None:
                continue
            rows.append(row)
            if row[8] < BAR or row[2]:
                failing.append(row[0])
    os.chdir(home)
    print(
        f"{'module':<18}{'mutants':>8}{'not run':>8}{'caught':>8}{'survived':>9}"
        f"{'no test':>8}{'equiv.':>7}{'kill rate':>10}{'w/o equiv.':>11}"
    )
    for module, total, unrun, caught, survived, untested, equivalent, rate, rest in rows:
        print(
            f"{module:<18}{total:>8}{unrun:>8}{caught:>8}{survived:>9}{untested:>8}"
            f"{equivalent:>7}{rate:>9.1f}%{rest:>10.1f}%"
        )
    print(f"\nSurviving mutants ({len(survivors)}):")
    print("\n".join(survivors) if survivors else "  none")
    if failing:
        print(f"\nUnder {BAR:.0f} % or not every mutant run: {', '.join(failing)}.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
