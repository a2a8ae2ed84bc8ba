"""The process library and validator: good folders load, each broken file is refused alone."""
from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from engine.library import ProcessLibrary
from engine.forms import FormRegistry
from engine.models import ProcessVersion
from engine.roles import known_roles
from tests.conftest import FIXTURES, GOOD_FORMS, GOOD_PROCESSES, ROOT, make_runtime, ready_names, reload_instance

BAD = FIXTURES / "bad_library"
XXE = FIXTURES / "bad_xxe"


def load(folder):
    return ProcessLibrary(folder / "processes", FormRegistry(folder / "forms"), known_roles()).load()


def test_good_folder_loads_without_problems():
    result = ProcessLibrary(GOOD_PROCESSES, FormRegistry(GOOD_FORMS), known_roles()).load()
    assert result.problems == [] and result.refused_files == []
    assert sorted(result.definitions) == ["card_request", "cycle_reminder", "escape_attempt", "failing_script",
                                          "quick_timer", "simple_approval"]
    card = result.definitions["card_request"]
    assert card.start_form == "card_request_start.json" and card.start_role == "grassroots_officer"
    assert card.name == "Đề nghị cấp thẻ đoàn viên"
    assert len(card.content_hash) == 64


# file stem → (line, element id, words in the message); line None = any line must be present
EXPECTED = {
    "malformed_xml": (26, None, "XML syntax error"),
    "xsd_invalid": (32, "bogus_element", "BPMN schema"),
    "bad_script": (30, "work", "script does not compile"),
    "bad_condition": (38, "f3", "condition does not compile"),
    "bad_timer": (38, "TimerDef_bad_timer", "timer does not compile"),
    "missing_form": (21, "approve", "does_not_exist.json"),
    "unknown_role": (8, "Lane_main", "lane 'chairman'"),
    "no_form": (18, "approve", "user task has no formJsonSchemaFilename"),
    "xxe_entity": (21, None, "external entity"),
}


@pytest.fixture(scope="module")
def bad_result():
    return load(BAD)


def test_broken_files_are_refused_but_the_others_still_load(bad_result):
    assert list(bad_result.definitions) == ["good_one"]
    assert sorted(bad_result.refused_files) == sorted(f"processes/{stem}.bpmn" for stem in EXPECTED)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_each_broken_file_gives_a_problem_with_file_line_and_element(bad_result, stem):
    line, element_id, words = EXPECTED[stem]
    problems = [p for p in bad_result.problems if p.file == f"processes/{stem}.bpmn"]
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.line == line
    assert problem.element_id == element_id
    assert words in problem.message
    text = str(problem)
    assert text.startswith(f"processes/{stem}.bpmn:{line}")
    if element_id:
        assert f"[{element_id}]" in text


def test_bad_script_message_names_the_script_line(bad_result):
    problem = next(p for p in bad_result.problems if p.file.endswith("bad_script.bpmn"))
    assert "Line 2" in problem.message and "result = = total" in problem.message


def test_xxe_never_reads_local_files():
    result = load(XXE)
    assert result.definitions == {}
    assert sorted(result.refused_files) == ["processes/xxe_dtd.bpmn", "processes/xxe_text.bpmn"]
    passwd = open("/etc/passwd", encoding="utf-8").read().splitlines()[0]
    for problem in result.problems + load(BAD).problems:
        assert "root:" not in problem.message and passwd not in problem.message


def test_deploy_of_a_mixed_folder_stores_only_the_good_file(sessions, org):
    runtime = make_runtime(BAD / "processes", BAD / "forms")
    with sessions() as session:
        result = runtime.deploy(session)
        session.commit()
        assert len(result.problems) == len(EXPECTED)
        versions = session.scalars(select(ProcessVersion)).all()
        assert [v.process_id for v in versions] == ["good_one"]
        lead = org.user(session, "lead_g1")
        outcome = runtime.host.start(session, "good_one", lead, org.units["G1"], {})
        session.commit()
        instance_id = outcome.instance.id
    instance, workflow = reload_instance(sessions, instance_id)
    assert instance.status == "running"
    assert ready_names(workflow) == ["approve"]


def test_validator_cli_on_a_good_folder():
    proc = subprocess.run([sys.executable, "-m", "engine.validate", str(GOOD_PROCESSES), "--forms", str(GOOD_FORMS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("OK: 6 process(es) loaded")


def test_validator_cli_defaults_to_the_real_folders():
    proc = subprocess.run([sys.executable, "-m", "engine.validate"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK:")


def test_validator_cli_on_a_bad_folder():
    proc = subprocess.run([sys.executable, "-m", "engine.validate", str(BAD / "processes"), "--forms",
                           str(BAD / "forms")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    problem_lines, summary = lines[:-1], lines[-1]
    assert len(problem_lines) == len(EXPECTED)
    assert "processes/xsd_invalid.bpmn:32 [bogus_element]: BPMN schema" in proc.stdout
    assert "processes/unknown_role.bpmn:8 [Lane_main]: lane 'chairman'" in proc.stdout
    assert summary.startswith("FAILED: 1 process(es) loaded, 9 file(s) refused, 9 problem(s)")


def test_validator_cli_reports_a_broken_form(tmp_path):
    forms = tmp_path / "forms"
    forms.mkdir()
    for form in GOOD_FORMS.glob("*.json"):
        (forms / form.name).write_text(form.read_text(encoding="utf-8"), encoding="utf-8")
    (forms / "broken.json").write_text('{"type": "array"}', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "engine.validate", str(GOOD_PROCESSES), "--forms", str(forms)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "forms/broken.json" in proc.stdout and "object schema" in proc.stdout


def test_validator_cli_missing_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "engine.validate", str(tmp_path / "nope")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0

