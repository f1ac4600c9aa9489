"""docs/api.md tells the truth: its route reference is generated from the OpenAPI document (so the two cannot
drift), and its prose says what the app does about authentication and errors."""
from __future__ import annotations

import re

from api.openapi import openapi_document
from tools.gen_api_docs import DOC, GENERATED_END, GENERATED_START, expected_doc, main, render_reference, splice


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def generated_part(text: str) -> str:
    return text.split(GENERATED_START)[1].split(GENERATED_END)[0]


def test_the_route_reference_is_what_the_generator_writes_from_the_openapi_document():
    text = doc_text()
    assert text == expected_doc(text), "docs/api.md is out of date: run python tools/gen_api_docs.py"
    assert main(["--check"]) == 0


def test_the_reference_covers_every_route_parameter_status_and_schema():
    document, reference = openapi_document(), generated_part(doc_text())
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    for path, method, operation in operations:
        heading = f"### `{method.upper()} {path}`"
        assert heading in reference
        section = reference.split(heading)[1].split("\n### ")[0]
        for param in operation.get("parameters", []):
            assert f"| `{param['name']}` |" in section, (path, param["name"])
        for status in operation["responses"]:
            assert re.search(rf"^\| {status} \|", section, flags=re.MULTILINE), (path, status)
    for name in document["components"]["schemas"]:
        assert f"### Schema `{name}`" in reference


def test_a_change_to_the_openapi_document_changes_the_reference():
    document = openapi_document()
    changed = openapi_document()
    changed["paths"]["/api/logs"]["get"]["parameters"].pop()  # say, a parameter dropped from the code
    text = doc_text()
    assert splice(text, render_reference(changed)) != text == splice(text, render_reference(document))


def error_statuses(text: str) -> set[int]:
    """The statuses of the Errors table in the prose."""
    table = text.split("### Errors")[1].split("\n### ")[0]
    return {int(s) for s in re.findall(r"^\| (\d{3}) \|", table, flags=re.MULTILINE)}


def test_the_prose_documents_optional_auth_and_no_server_errors():
    text = doc_text()
    prose = text.replace(generated_part(text), "")
    assert "There is no authentication" not in prose and "Authentication is optional" in prose
    assert "Authorization: Bearer" in prose and "WWW-Authenticate" in prose
    documented = {int(s) for item in openapi_document()["paths"].values() for op in item.values()
                  for s in op["responses"]}
    # Every error status a route documents is explained, plus routing's: 404 (no such path), 405 (not GET).
    assert error_statuses(text) == (documented - {200, 201, 204}) | {404, 405} == {400, 401, 403, 404, 405, 409, 503}
    # 503 is /healthz's answer by design; no other 5xx is promised or listed anywhere.
    assert not re.search(r"^\| 5(?!03)\d\d \|", text, flags=re.MULTILINE)
    assert [p for p, item in openapi_document()["paths"].items() if "503" in item.get("get", {}).get("responses", {})] \
        == ["/healthz"]
