"""openapi.yaml as a test oracle: find the response an operation documents and validate a real
response against it with jsonschema (Draft 2020-12, the dialect of OpenAPI 3.1), resolving `$ref`s
against the whole document.

    check_response("POST", "/api/v1/runs", 400, body, content_type=..., headers=...)

raises `ContractError` naming the operation, the status and what did not match.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any, Mapping

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO / "openapi.yaml"
SPEC_URI = "urn:ipclab:openapi"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ContractError(AssertionError):
    """A response that openapi.yaml does not allow."""


@functools.cache
def spec() -> dict[str, Any]:
    with SPEC_PATH.open("rb") as f:
        return yaml.safe_load(f)


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(spec()))


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@functools.cache
def validator_at(pointer: str) -> Draft202012Validator:
    """A validator for the schema at `pointer` (a JSON pointer into openapi.yaml)."""
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"},
        registry=_registry(),
        format_checker=FormatChecker(),
    )


def schema_validator(name: str) -> Draft202012Validator:
    """A validator for `#/components/schemas/<name>`."""
    if name not in spec()["components"]["schemas"]:
        raise KeyError(f"openapi.yaml has no schema {name!r}")
    return validator_at(_pointer("components", "schemas", name))


def validate(instance: Any, pointer: str, what: str) -> None:
    errors = sorted(validator_at(pointer).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{what}: {len(errors)} schema violation(s) against {pointer}:"]
        for e in errors[:10]:
            where = "".join(f"[{p!r}]" for p in e.absolute_path) or "(root)"
            lines.append(f"  at {where}: {e.message[:300]}")
        raise ContractError("\n".join(lines))


def validate_schema(instance: Any, name: str, what: str = "value") -> None:
    validate(instance, _pointer("components", "schemas", name), what)


def _template_regex(template: str) -> re.Pattern[str]:
    out = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        out += "[^/]+" if piece.startswith("{") else re.escape(piece)
    return re.compile(f"^{out}$")


def match_path(path: str) -> str | None:
    """The openapi.yaml path template that `path` (no query) falls under, concrete paths first."""
    paths = spec()["paths"]
    if path in paths:
        return path
    for template in paths:
        if "{" in template and _template_regex(template).match(path):
            return template
    return None


def _resolve(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """Follow a `$ref` to components/responses; answer the object and its pointer."""
    ref = obj.get("$ref")
    if ref is None:
        return obj, None
    if not ref.startswith("#/"):
        raise ContractError(f"unsupported $ref {ref}")
    node: Any = spec()
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, ref[1:]


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";")[0].strip().lower()


def find_response(method: str, path: str, status: int) -> tuple[str, Mapping[str, Any], str, str]:
    """(operation name, response object, pointer to the response, template) for a real response.

    A method a path does not have must be a 405 (`MethodNotAllowed`); a path with no operation, or an
    operation that documents no 404, may answer 404 (`NotFound`); any path may answer the HTTP layer's
    own 400, 501 or 503 (`Refused`).
    """
    method = method.lower()
    path = path.split("?", 1)[0]
    template = match_path(path)
    components = spec()["components"]["responses"]
    if status == 405:
        if template is not None and method in spec()["paths"][template]:
            raise ContractError(f"{method.upper()} {path}: 405, but openapi.yaml has this operation")
        return (f"{method.upper()} {path}", components["MethodNotAllowed"],
                _pointer("components", "responses", "MethodNotAllowed"), template or path)
    # The HTTP layer's own refusals may answer any path (components/responses/Refused).
    refused = (f"{method.upper()} {path}", components["Refused"], _pointer("components", "responses", "Refused"),
               template or path)
    if template is None or method not in spec()["paths"][template]:
        if status in (400, 501, 503):
            return refused
        if status == 404:
            return (f"{method.upper()} {path}", components["NotFound"],
                    _pointer("components", "responses", "NotFound"), template or path)
        if template is None:
            raise ContractError(f"{method.upper()} {path}: no path in openapi.yaml matches (status {status})")
        raise ContractError(f"{method.upper()} {path}: openapi.yaml has no {method.upper()} on {template}, "
                            f"so only 405 fits, got {status}")
    operation = spec()["paths"][template][method]
    name = f"{method.upper()} {template}"
    responses = operation["responses"]
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            response, ref_pointer = _resolve(responses[key])
            pointer = ref_pointer or _pointer("paths", template, method, "responses", key)
            return name, response, pointer, template
    if status == 404:
        return name, components["NotFound"], _pointer("components", "responses", "NotFound"), template
    if status in (400, 501, 503):
        return refused
    raise ContractError(f"{name}: status {status} is not documented (documented: {sorted(responses)})")


def check_response(method: str, path: str, status: int, body: bytes | str | Any,
                   content_type: str | None = None, headers: Mapping[str, str] | None = None) -> Any:
    """Validate one real response against openapi.yaml. Answers the parsed JSON body (or the text).

    `body` may be raw bytes/str (parsed as JSON for a JSON media type) or an already parsed value
    (then `content_type` defaults to application/json).
    """
    name, response, pointer, _ = find_response(method, path, status)
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    for header, header_spec in (response.get("headers") or {}).items():
        if header_spec.get("required") and header.lower() not in headers:
            raise ContractError(f"{name} {status}: required header {header} is missing")
    content = response.get("content") or {}
    if not isinstance(body, (bytes, str)) and content_type is None:
        content_type = JSON_CONTENT_TYPE
    media = _media_type(content_type)
    if not content:
        return body
    if media is None:
        raise ContractError(f"{name} {status}: no Content-Type (documented: {sorted(content)})")
    key = media if media in content else ("*/*" if "*/*" in content else None)
    if key is None:
        raise ContractError(f"{name} {status}: Content-Type {content_type!r} is not documented "
                            f"(documented: {sorted(content)})")
    value: Any = body
    if media == "application/json":
        if content_type.replace(" ", "").lower() != JSON_CONTENT_TYPE.replace(" ", ""):
            raise ContractError(f"{name} {status}: Content-Type {content_type!r}, "
                                f"the contract says {JSON_CONTENT_TYPE!r}")
        if isinstance(body, (bytes, str)):
            try:
                value = json.loads(body)
            except ValueError as e:
                raise ContractError(f"{name} {status}: body is not JSON ({e}): {body[:200]!r}") from None
        if "schema" in content[key]:
            validate(value, pointer + _pointer("content", key, "schema"), f"{name} {status}")
        return value
    # Text media (text/plain, text/html, application/yaml): documented as `type: string`; it must
    # at least be UTF-8. Other static files (*/*) are bytes.
    if isinstance(body, bytes) and (media.startswith("text/") or media == "application/yaml"):
        try:
            value = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ContractError(f"{name} {status}: {media} body is not UTF-8 ({e})") from None
    return value


# The scenario example of the contract (openapi.yaml and the README): valid, and used as the
# starting point that tests break one field of.
CONTRACT_SCENARIO = {
    "channels": [{"name": "p", "kind": "pipe"}, {"name": "f", "kind": "fifo", "path": "/tmp/f"}],
    "processes": [
        {"name": "parent", "steps": [{"op": "close", "channel": "p", "end": "write"},
                                     {"op": "read", "channel": "p", "size": 6},
                                     {"op": "wait", "process": "child"}]},
        {"name": "child", "steps": [{"op": "close", "channel": "p", "end": "read"},
                                    {"op": "write", "channel": "p", "data": "Hello"},
                                    {"op": "exit", "code": 0}]},
    ],
}
