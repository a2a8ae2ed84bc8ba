"""Contract over the REAL processes/ and forms/: what every deployed process and form must satisfy."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from engine.forms import FORM_PROPERTY, FormRegistry
from engine.library import NS, ProcessLibrary, parse_xml
from engine.roles import ROLES, known_roles
from engine.runtime import FORMS_DIR, PROCESSES_DIR

BPMN_FILES = sorted(p for p in PROCESSES_DIR.rglob("*.bpmn"))
FORM_FILES = sorted(FORMS_DIR.glob("*.json"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _root(path: Path) -> etree._Element:
    return parse_xml(path.read_bytes()).getroot()


def _form_refs(root: etree._Element) -> list[tuple[str, str]]:
    """(owner element id, form file name) for every form property in a file."""
    refs = []
    for prop in root.xpath(f"//spiffworkflow:property[@name='{FORM_PROPERTY}']", namespaces=NS):
        owner = prop.getparent().getparent().getparent()
        refs.append((owner.get("id"), prop.get("value", "")))
    return refs


@pytest.fixture(scope="module")
def load_result():
    return ProcessLibrary(PROCESSES_DIR, FormRegistry(FORMS_DIR), known_roles()).load()


def test_there_are_processes_and_forms():
    assert BPMN_FILES, "processes/ holds no .bpmn file"
    assert FORM_FILES, "forms/ holds no .json file"


def test_every_file_loads_with_zero_problems(load_result):
    assert [str(p) for p in load_result.problems] == []
    assert load_result.refused_files == []


@pytest.mark.parametrize("path", BPMN_FILES, ids=_ids(BPMN_FILES))
def test_file_stem_is_the_process_id(path, load_result):
    root = _root(path)
    executable = [p.get("id") for p in root.xpath("//bpmn:process[@isExecutable='true']", namespaces=NS)]
    assert path.stem in executable, f"{path.name}: executable processes {executable}"
    assert path.stem in load_result.definitions
    assert load_result.definitions[path.stem].source_path.endswith(path.name)


@pytest.mark.parametrize("path", BPMN_FILES, ids=_ids(BPMN_FILES))
def test_every_referenced_form_exists_and_is_an_object_schema(path):
    for owner, name in _form_refs(_root(path)):
        form_path = FORMS_DIR / name
        assert form_path.is_file(), f"{path.name} [{owner}]: form {name} missing from forms/"
        schema = json.loads(form_path.read_text(encoding="utf-8"))
        assert schema.get("type") == "object", f"{name}: not an object schema"
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", FORM_FILES, ids=_ids(FORM_FILES))
def test_every_form_is_valid_and_follows_conventions(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(schema, dict) and schema.get("type") == "object"
    Draft202012Validator.check_schema(schema)
    assert schema.get("title"), f"{path.name}: a form needs a title"
    props = schema.get("properties", {})
    assert props, f"{path.name}: a form needs properties"
    order = schema.get("x-order")
    if order is not None:
        assert sorted(order) == sorted(props), f"{path.name}: x-order must list every property once"
    for name in schema.get("required", []):
        assert name in props, f"{path.name}: required field {name} is not a property"
    for name, spec in props.items():
        assert spec.get("title"), f"{path.name}: field {name} has no title"
        if "x-enumNames" in spec:
            assert len(spec["x-enumNames"]) == len(spec.get("enum", [])), f"{path.name}: {name} x-enumNames"


@pytest.mark.parametrize("path", FORM_FILES, ids=_ids(FORM_FILES))
def test_every_form_is_used_by_some_process(path):
    used = {name for bpmn in BPMN_FILES for _owner, name in _form_refs(_root(bpmn))}
    assert path.name in used, f"forms/{path.name} is not referenced by any process"


@pytest.mark.parametrize("path", BPMN_FILES, ids=_ids(BPMN_FILES))
def test_every_lane_names_a_known_role(path):
    for lane in _root(path).xpath("//bpmn:lane", namespaces=NS):
        assert (lane.get("name") or "").strip() in ROLES, f"{path.name} [{lane.get('id')}]: {lane.get('name')}"


@pytest.mark.parametrize("path", BPMN_FILES, ids=_ids(BPMN_FILES))
def test_every_user_task_has_a_form(path):
    root = _root(path)
    for task in root.xpath("//bpmn:userTask", namespaces=NS):
        props = task.xpath(f".//spiffworkflow:property[@name='{FORM_PROPERTY}']", namespaces=NS)
        assert props and props[0].get("value"), f"{path.name} [{task.get('id')}]: user task without a form"


@pytest.mark.parametrize("path", BPMN_FILES, ids=_ids(BPMN_FILES))
def test_every_user_task_and_start_event_sits_in_a_lane(path, load_result):
    root = _root(path)
    in_lanes = {ref.text for ref in root.xpath("//bpmn:lane/bpmn:flowNodeRef", namespaces=NS)}
    if not root.xpath("//bpmn:lane", namespaces=NS):
        pytest.skip("process without lanes")
    for node in root.xpath("//bpmn:userTask | //bpmn:startEvent", namespaces=NS):
        assert node.get("id") in in_lanes, f"{path.name} [{node.get('id')}]: not in any lane"
    assert load_result.definitions[path.stem].start_role in ROLES
