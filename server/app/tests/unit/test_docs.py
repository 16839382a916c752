"""The documents in docs/ say what the code does.

docs/endpoints.md has one section per route, headed ``## `METHOD /path` ``; these tests
compare those sections with the OpenAPI schema of `create_app()` (built without starting
the lifespan, so nothing is opened), and other documented facts with the code they
describe. A failure message says which document to update.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from starlette.routing import Match

from app.adapters.pipeline.catalog import PipelineCatalog
from app.api.main import create_app
from app.domain import ports
from app.domain.model import ALLOWED_TRANSITIONS, JobStatus
from app.settings import Settings

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[4]
DOCS = REPO_ROOT / "docs"
DOCUMENTS = (
    "overview.md",
    "architecture.md",
    "endpoints.md",
    "rollback.md",
    "contributor-exam.md",
    "release-notes.md",
)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROUTE_HEADING = re.compile(r"^## `(?P<method>[A-Z]+) (?P<path>/[^`\s]*)`\s*$", re.MULTILINE)
CURL_URL = re.compile(r"http://127\.0\.0\.1:8000(?P<path>/[^\s\"'?]*)")
STATUS_ROW = re.compile(r"^\| (?P<code>\d{3}) \|", re.MULTILINE)
PIPELINE_ROW = re.compile(r"^\| `(?P<id>[a-z0-9_\-]+)` \|", re.MULTILINE)
MERMAID_TRANSITION = re.compile(r"^\s*(\w+) --> (\w+)", re.MULTILINE)
Route = tuple[str, str]


def normalise(path: str) -> str:
    """Path parameters compare equal whatever their name: /x/{job_id} -> /x/{}."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def curl_method(line: str) -> str:
    """The method curl sends: `-X` when given, POST with a form or data, else GET."""
    explicit = re.search(r"(?:-X|--request) (\w+)", line)
    if explicit:
        return explicit[1].upper()
    return "POST" if re.search(r" (?:-F|-d|--form|--data)\b", line) else "GET"


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


@pytest.fixture(scope="module")
def schema_routes(app: FastAPI) -> dict[Route, set[str]]:
    """(METHOD, normalised path) -> the status codes the schema declares."""
    routes = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if method.upper() in HTTP_METHODS:
                routes[(method.upper(), normalise(path))] = set(operation["responses"])
    return routes


@pytest.fixture(scope="module")
def sections() -> dict[Route, str]:
    """(METHOD, normalised path) -> the text of its section in endpoints.md."""
    text = read("endpoints.md")
    headings = list(ROUTE_HEADING.finditer(text))
    result = {}
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(text)
        route = (heading["method"], normalise(heading["path"]))
        assert route not in result, f"docs/endpoints.md documents {route} twice"
        result[route] = text[heading.end() : end]
    return result


def test_every_document_exists_and_its_links_resolve() -> None:
    for name in DOCUMENTS:
        text = read(name)
        assert text.startswith("# "), f"docs/{name} should start with a title"
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not target.startswith(("http://", "https://")):
                assert (DOCS / target).is_file(), f"docs/{name} links to missing {target}"


def test_every_documented_route_exists(sections, schema_routes) -> None:
    unknown = sorted(set(sections) - set(schema_routes))
    assert not unknown, f"docs/endpoints.md documents routes the API does not have: {unknown}"


def test_every_route_is_documented(sections, schema_routes) -> None:
    missing = sorted(set(schema_routes) - set(sections))
    assert not missing, (
        f"routes without a section in docs/endpoints.md: {missing}; add a heading "
        "'## `METHOD /path`' with a curl example and a table of its statuses"
    )


def test_each_section_has_a_curl_example_of_its_route(sections) -> None:
    for (method, path), text in sections.items():
        pattern = re.compile("^" + re.escape(path).replace(r"\{\}", "[^/]+") + "$")
        curls = [line for line in text.splitlines() if line.startswith("curl ")]
        assert curls, f"{method} {path}: no curl example"
        for line in curls:
            url = CURL_URL.search(line)
            assert url and pattern.match(url["path"]), f"{method} {path}: curl URL in {line!r}"
            assert curl_method(line) == method, f"{method} {path}: method of {line!r}"


def test_each_section_lists_every_status_the_schema_declares(sections, schema_routes) -> None:
    for route, text in sections.items():
        documented = {match["code"] for match in STATUS_ROW.finditer(text)}
        missing = sorted(schema_routes.get(route, set()) - documented)
        assert not missing, f"{route}: statuses missing from its table in endpoints.md: {missing}"


def serves(app: FastAPI, method: str, path: str) -> bool:
    """Whether a request would reach a route (Starlette's own matching, no request sent)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


def test_examples_use_unprefixed_paths_and_the_v1_aliases_exist(app, sections) -> None:
    for text in sections.values():
        assert "8000/v1/" not in text, "the examples use the unprefixed paths"
    assert "`/v1` prefix" in read("endpoints.md")
    for method, path in sections:
        concrete = path.replace("{}", "00000000-0000-4000-8000-000000000000")
        assert serves(app, method, concrete), f"{method} {path} does not answer"
        assert serves(app, method, "/v1" + concrete), f"no /v1 alias for {method} {path}"
    assert not serves(app, "GET", "/v1/no/such/route")


def test_documented_pipelines_are_the_built_in_ones() -> None:
    text = read("endpoints.md").split("### Built-in pipelines", 1)[1]
    documented = {match["id"] for match in PIPELINE_ROW.finditer(text)}
    built_in = {info.id for info in PipelineCatalog.load().infos()}
    assert documented == built_in, (
        f"docs/endpoints.md 'Built-in pipelines' lists {sorted(documented)}, "
        f"the catalog has {sorted(built_in)}"
    )


def test_every_setting_is_documented() -> None:
    """In the table of docs/overview.md, or in the document of the feature it belongs to."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md")))
    missing = [
        f"VIDEO_JOBS_{name.upper()}"
        for name in Settings.model_fields
        if f"`VIDEO_JOBS_{name.upper()}`" not in text
    ]
    assert not missing, f"settings not documented in docs/ (see overview.md): {missing}"


def test_architecture_state_diagram_matches_the_transition_rule() -> None:
    text = read("architecture.md").split("stateDiagram-v2", 1)[1].split("```", 1)[0]
    drawn = {
        (JobStatus(a), JobStatus(b))
        for a, b in MERMAID_TRANSITION.findall(text)
        if a in JobStatus._value2member_map_ and b in JobStatus._value2member_map_
    }
    allowed = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert drawn == allowed, (
        "the stateDiagram in docs/architecture.md differs from ALLOWED_TRANSITIONS: "
        f"drawn but not allowed {sorted(drawn - allowed)}, allowed but not drawn "
        f"{sorted(allowed - drawn)}"
    )


def test_architecture_names_every_port() -> None:
    text = read("architecture.md")
    port_names = [
        name
        for name, value in vars(ports).items()
        if inspect.isclass(value)
        and value.__module__ == ports.__name__
        and inspect.isabstract(value)
    ]
    assert port_names, "no abstract port found in app.domain.ports"
    for name in port_names:
        assert f"`{name}`" in text, f"docs/architecture.md does not describe the port {name}"


def test_contributor_exam_has_an_answer_per_question_and_the_current_rules() -> None:
    text = read("contributor-exam.md")
    questions, answers = text.split("## Answer key", 1)
    count = len(re.findall(r"^\d+\. ", questions, re.MULTILINE))
    assert count >= 8
    assert len(re.findall(r"^\d+\. ", answers, re.MULTILINE)) == count
    vocabulary = yaml.safe_load((REPO_ROOT / "tools/forbidden_vocabulary_phase16.yaml").read_text())
    for entry in vocabulary["terms"]:
        assert f"`{entry['term']}`" in answers, f"the exam's answers omit {entry['term']}"
    for status in JobStatus:
        assert f"`{status.value}`" in answers, f"the exam's answers omit the status {status}"


def test_release_notes_name_the_running_version(app) -> None:
    assert f"## {app.version} " in read("release-notes.md")
