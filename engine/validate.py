"""Check a process folder and its forms without a database: ``make validate``.

    python -m engine.validate [DIR] [--forms FORMS_DIR]

Prints one line per problem (``file:line [element_id]: message``) and a summary; exits 1 when there
is any problem, 0 otherwise. Runs every check the platform runs when it loads processes (XML syntax,
BPMN XSD, restricted compilation of scripts/conditions/timers/expressions, forms, lanes).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.library import LoadResult, Problem, validate_folder
from engine.roles import known_roles
from engine.runtime import FORMS_DIR, PROCESSES_DIR


def check(processes_dir: Path, forms_dir: Path) -> tuple[LoadResult, list[Problem]]:
    """Load the folder like the platform does; also report forms that are themselves broken."""
    from engine.forms import FormRegistry

    result = validate_folder(processes_dir, forms_dir, known_roles())
    problems = list(result.problems)
    reported = {p.message for p in problems}
    registry = FormRegistry(forms_dir)
    for name in registry.names():
        message = registry.check(name)
        if message and message not in reported:
            problems.append(Problem(f"{forms_dir.name}/{name}", None, None, message))
    return result, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.validate",
                                     description="Validate BPMN processes and their forms")
    parser.add_argument("dir", nargs="?", default=str(PROCESSES_DIR), help="process folder (default: processes/)")
    parser.add_argument("--forms", default=None, help="forms folder (default: forms/ of the platform)")
    args = parser.parse_args(argv)
    processes_dir = Path(args.dir)
    forms_dir = Path(args.forms) if args.forms else FORMS_DIR
    if not processes_dir.is_dir():
        print(f"{processes_dir}: not a folder", file=sys.stderr)
        return 2
    if not forms_dir.is_dir():
        print(f"{forms_dir}: not a folder", file=sys.stderr)
        return 2
    result, problems = check(processes_dir, forms_dir)
    for problem in problems:
        print(problem)
    files = len(result.definitions) + len(result.refused_files)
    status = "OK" if not problems else "FAILED"
    print(f"{status}: {len(result.definitions)} process(es) loaded, {len(result.refused_files)} file(s) refused, "
          f"{len(problems)} problem(s) in {processes_dir} ({files} file(s) checked, forms from {forms_dir})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
