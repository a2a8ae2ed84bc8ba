"""The process library: loads processes/**/*.bpmn and *.dmn, validates them, builds specs.

Each file goes through a hardened lxml parser and the BPMN/DMN XSDs with SpiffWorkflow's extensions;
every script, condition and timer expression is compiled with the restricted compiler; referenced
forms must exist; lanes must name known roles. A broken file is refused alone, with a problem naming
file, line and element id; the others still load.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

from engine.forms import FORM_PROPERTY, FormRegistry
from engine.sandbox import compile_expression, compile_script

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
EXPRESSION_PROPERTIES = ("assignee", "dueDate", "unit")

SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                              huge_tree=False, remove_pis=True)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    element_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line or '?'}"
        element = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}{element}: {self.message}"


@dataclass
class ProcessDefinition:
    process_id: str
    name: str
    source_path: str
    bpmn_xml: str
    spec_dict: dict[str, Any]
    start_form: str | None = None
    start_role: str | None = None
    content_hash: str = ""

    def spec_json(self) -> str:
        return json.dumps(self.spec_dict, sort_keys=True, separators=(",", ":"))


@dataclass
class LoadResult:
    definitions: dict[str, ProcessDefinition] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    refused_files: list[str] = field(default_factory=list)


def make_serializer() -> BpmnWorkflowSerializer:
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def parse_xml(data: bytes) -> etree._ElementTree:
    return etree.ElementTree(etree.fromstring(data, SAFE_PARSER))


class ProcessLibrary:
    def __init__(self, processes_dir: Path, forms: FormRegistry, known_roles: frozenset[str],
                 serializer: BpmnWorkflowSerializer | None = None,
                 service_names: frozenset[str] | None = None) -> None:
        self.processes_dir = Path(processes_dir)
        self.service_names = service_names
        self.forms = forms
        self.known_roles = known_roles
        self.serializer = serializer or make_serializer()

    def files(self) -> list[Path]:
        return sorted(p for p in self.processes_dir.rglob("*") if p.suffix in (".bpmn", ".dmn") and p.is_file())

    def load(self) -> LoadResult:
        result = LoadResult()
        good: list[tuple[Path, etree._Element]] = []
        for path in self.files():
            problems, root = self.check_file(path)
            if problems:
                result.problems.extend(problems)
                result.refused_files.append(self._rel(path))
            elif root is not None:
                good.append((path, root))
        for path, root in good:
            if path.suffix == ".bpmn":
                self._build(path, root, good, result)
        return result

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.processes_dir.parent))
        except ValueError:
            return str(path)

    def check_file(self, path: Path) -> tuple[list[Problem], etree._Element | None]:
        """All problems of one file on its own (syntax, schema, scripts, forms, lanes)."""
        rel = self._rel(path)
        try:
            tree = parse_xml(path.read_bytes())
        except etree.XMLSyntaxError as exc:
            return [Problem(rel, exc.lineno, None, f"XML syntax error: {exc.msg}")], None
        root = tree.getroot()
        if path.suffix == ".dmn":
            return self._check_with_parser(rel, root, dmn=True), root
        try:
            VALIDATOR.validate(root, rel)
        except ValidationException as exc:
            line = _int(exc.line_number)
            return [Problem(rel, line, exc.id or _id_at_line(root, line), f"BPMN schema: {exc}")], root
        problems = self._check_parse(rel, root)
        problems += self._check_expressions(rel, root)
        problems += self._check_forms_and_lanes(rel, root)
        problems += self._check_services(rel, root)
        return problems, root

    def _check_parse(self, rel: str, root: etree._Element) -> list[Problem]:
        return self._check_with_parser(rel, root, dmn=False)

    def _check_with_parser(self, rel: str, root: etree._Element, dmn: bool) -> list[Problem]:
        parser = SpiffBpmnParser(validator=VALIDATOR)
        try:
            if dmn:
                parser.add_dmn_xml(root, filename=rel)
                return []
            parser.add_bpmn_xml(root, filename=rel)
            for process_id in parser.get_process_ids():
                parser.get_spec(process_id, required=False)
        except ValidationException as exc:
            return [Problem(rel, _int(exc.line_number), exc.id or None, str(exc).split("\n")[0])]
        except Exception as exc:  # noqa: BLE001 - any parser failure refuses the file, never the server
            return [Problem(rel, None, None, f"{type(exc).__name__}: {exc}")]
        return []

    def _check_expressions(self, rel: str, root: etree._Element) -> list[Problem]:
        problems = []
        checks: list[tuple[str, Callable[[str], Any], str]] = [
            ("//bpmn:scriptTask/bpmn:script", compile_script, "script"),
            ("//spiffworkflow:preScript", compile_script, "pre-script"),
            ("//spiffworkflow:postScript", compile_script, "post-script"),
            ("//bpmn:conditionExpression", compile_expression, "condition"),
            ("//bpmn:timeDate", compile_expression, "timer"),
            ("//bpmn:timeDuration", compile_expression, "timer"),
            ("//bpmn:timeCycle", compile_expression, "timer"),
        ]
        for xpath, compiler, label in checks:
            for node in root.xpath(xpath, namespaces=NS):
                source = (node.text or "").strip()
                owner = _owner_id(node)
                if not source:
                    if label != "script":
                        problems.append(Problem(rel, node.sourceline, owner, f"empty {label} expression"))
                    continue
                try:
                    compiler(source)
                except SyntaxError as exc:
                    problems.append(Problem(rel, node.sourceline, owner, f"{label} does not compile: "
                                            f"{_syntax_message(exc)}"))
        for prop in root.xpath("//spiffworkflow:property", namespaces=NS):
            if prop.get("name") in EXPRESSION_PROPERTIES and prop.get("value"):
                try:
                    compile_expression(prop.get("value"))
                except SyntaxError as exc:
                    problems.append(Problem(rel, prop.sourceline, _owner_id(prop),
                                            f"property {prop.get('name')} does not compile: {_syntax_message(exc)}"))
        for param in root.xpath("//spiffworkflow:serviceTaskOperator//spiffworkflow:parameter", namespaces=NS):
            try:
                compile_expression(param.get("value") or "None")
            except SyntaxError as exc:
                problems.append(Problem(rel, param.sourceline, _owner_id(param),
                                        f"parameter {param.get('id')} does not compile: {_syntax_message(exc)}"))
        return problems

    def _check_services(self, rel: str, root: etree._Element) -> list[Problem]:
        if self.service_names is None:
            return []
        problems = []
        for op in root.xpath("//spiffworkflow:serviceTaskOperator", namespaces=NS):
            if op.get("id") not in self.service_names:
                problems.append(Problem(rel, op.sourceline, _owner_id(op),
                                        f"service operation '{op.get('id')}' is not provided by the platform "
                                        f"({', '.join(sorted(self.service_names))})"))
        return problems

    def _check_forms_and_lanes(self, rel: str, root: etree._Element) -> list[Problem]:
        problems = []
        for prop in root.xpath("//spiffworkflow:property", namespaces=NS):
            if prop.get("name") == FORM_PROPERTY:
                message = self.forms.check(prop.get("value", ""))
                if message:
                    problems.append(Problem(rel, prop.sourceline, _owner_id(prop), message))
        for lane in root.xpath("//bpmn:lane", namespaces=NS):
            name = (lane.get("name") or "").strip()
            if name not in self.known_roles:
                problems.append(Problem(rel, lane.sourceline, lane.get("id"),
                                        f"lane '{name}' does not name a known role "
                                        f"({', '.join(sorted(self.known_roles))})"))
        for task in root.xpath("//bpmn:userTask", namespaces=NS):
            if not task.xpath(f".//spiffworkflow:property[@name='{FORM_PROPERTY}']", namespaces=NS):
                problems.append(Problem(rel, task.sourceline, task.get("id"),
                                        f"user task has no {FORM_PROPERTY} property"))
        return problems

    def _build(self, path: Path, root: etree._Element, good: list[tuple[Path, etree._Element]],
               result: LoadResult) -> None:
        rel = self._rel(path)
        parser = SpiffBpmnParser(validator=VALIDATOR)
        try:
            for other_path, other_root in good:
                if other_path.suffix == ".dmn":
                    parser.add_dmn_xml(other_root, filename=self._rel(other_path))
                else:
                    parser.add_bpmn_xml(other_root, filename=self._rel(other_path))
            own_ids = [p.get("id") for p in root.xpath("//bpmn:process[@isExecutable='true']", namespaces=NS)]
            for process_id in own_ids:
                spec = parser.get_spec(process_id)
                subs = parser.get_subprocess_specs(process_id)
                spec_dict = {"spec": self.serializer.to_dict(spec),
                             "subprocess_specs": {k: self.serializer.to_dict(v) for k, v in subs.items()}}
                definition = ProcessDefinition(
                    process_id=process_id, name=spec.description or process_id, source_path=rel,
                    bpmn_xml=etree.tostring(root, encoding="unicode"), spec_dict=spec_dict,
                    start_form=_start_property(root, process_id, FORM_PROPERTY),
                    start_role=_start_role(root, process_id),
                )
                definition.content_hash = hashlib.sha256(definition.spec_json().encode()).hexdigest()
                if process_id in result.definitions:
                    result.problems.append(Problem(rel, None, process_id, "process id defined twice"))
                    continue
                result.definitions[process_id] = definition
        except ValidationException as exc:
            result.problems.append(Problem(rel, _int(exc.line_number), exc.id or None, str(exc).split("\n")[0]))
            result.refused_files.append(rel)
        if path.stem not in result.definitions and rel not in result.refused_files:
            result.problems.append(Problem(rel, None, None, f"file stem '{path.stem}' is not an executable "
                                                         "process id in the file"))


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _syntax_message(exc: SyntaxError) -> str:
    if exc.args and isinstance(exc.args[0], tuple):
        return "; ".join(exc.args[0])
    return str(exc.msg if hasattr(exc, "msg") and exc.msg else exc)


def _id_at_line(root: etree._Element, line: int | None) -> str | None:
    """The id of the (innermost BPMN owner of the) first element starting on ``line``."""
    if line is None:
        return None
    for node in root.iter():
        if isinstance(node.tag, str) and node.sourceline == line:
            return _owner_id(node)
    return None


def _owner_id(node: etree._Element) -> str | None:
    while node is not None:
        if node.get("id") and etree.QName(node).namespace == BPMN:
            return node.get("id")
        node = node.getparent()
    return None


def _start_event(root: etree._Element, process_id: str) -> etree._Element | None:
    found = root.xpath(f"//bpmn:process[@id='{process_id}']/bpmn:startEvent", namespaces=NS)
    return found[0] if found else None


def _start_property(root: etree._Element, process_id: str, name: str) -> str | None:
    start = _start_event(root, process_id)
    if start is None:
        return None
    props = start.xpath(f".//spiffworkflow:property[@name='{name}']", namespaces=NS)
    return props[0].get("value") if props else None


def _start_role(root: etree._Element, process_id: str) -> str | None:
    start = _start_event(root, process_id)
    if start is None:
        return None
    for lane in root.xpath(f"//bpmn:process[@id='{process_id}']//bpmn:lane", namespaces=NS):
        refs = [r.text for r in lane.xpath("bpmn:flowNodeRef", namespaces=NS)]
        if start.get("id") in refs:
            return lane.get("name")
    return None


def validate_folder(processes_dir: Path, forms_dir: Path, known_roles: frozenset[str]) -> LoadResult:
    return ProcessLibrary(processes_dir, FormRegistry(forms_dir), known_roles).load()
