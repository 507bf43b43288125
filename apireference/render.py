"""The API reference site from the OpenAPI document: one self-contained HTML page (inline style
and script, nothing fetched from a third party) and the document itself as JSON, with the
stack's API address as its server.

The page lists every operation by tag: its parameters, request body, responses and the fields of
their schemas, and an explorer form that sends the request with the visitor's API key (kept in the
page, never stored) and shows the answer. The API must allow the page's origin by CORS for the
explorer to work (docs/portal-contract.md).
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# What the CDN and browsers may keep: the CDN caps it at edge.cdn.maxTtlSec (300 s by default).
CACHE_CONTROL = "public, max-age=300"
PAGE_TYPE = "text/html; charset=utf-8"
SPEC_TYPE = "application/json"


class ApiReferenceError(ValueError):
    """The OpenAPI document cannot be read: names the file and the key."""


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The document as data. A malformed file stops `pulumi up` here, naming the file and key;
    the full OpenAPI validation is the test suite's (openapi-spec-validator)."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ApiReferenceError(f"{path}: not YAML: {error}") from None
    if not isinstance(spec, dict):
        raise ApiReferenceError(f"{path}: the document is not a mapping")
    if not str(spec.get("openapi", "")).startswith("3."):
        raise ApiReferenceError(f"{path}: openapi: expected an OpenAPI 3 version like 3.1.0")
    for key in ("info", "paths"):
        if not isinstance(spec.get(key), dict):
            raise ApiReferenceError(f"{path}: {key}: missing or not a mapping")
    for route, item in spec["paths"].items():
        if not isinstance(item, dict) or not any(method in item for method in HTTP_METHODS):
            raise ApiReferenceError(f"{path}: paths.{route}: no operation ({', '.join(HTTP_METHODS)})")
    return spec


def with_server(spec: Mapping[str, Any], api_url: str) -> dict[str, Any]:
    """The document with the stack's API address as its only server."""
    published = copy.deepcopy(dict(spec))
    published["servers"] = [{"url": api_url.rstrip("/"), "description": "This environment's API"}]
    return published


def reference_files(spec: Mapping[str, Any], api_url: str) -> dict[str, tuple[str, str]]:
    """Object name (under the site's folder) -> (content, content type): the page and the document."""
    published = with_server(spec, api_url)
    return {
        "index.html": (render_reference_page(published), PAGE_TYPE),
        "openapi.json": (json.dumps(published, indent=2, sort_keys=True) + "\n", SPEC_TYPE),
    }


# --- rendering ---------------------------------------------------------------------------------


def _resolve(spec: Mapping[str, Any], node: Any) -> Any:
    """Follow a local `$ref` (`#/components/...`) to what it names."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _flatten(spec: Mapping[str, Any], schema: Any) -> dict[str, Any]:
    """A schema with its `allOf` parts merged: properties and required fields together."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, Mapping):
        return {}
    merged: dict[str, Any] = {key: value for key, value in schema.items() if key != "allOf"}
    for part in schema.get("allOf", []):
        flat = _flatten(spec, part)
        merged.setdefault("type", flat.get("type"))
        merged["properties"] = {**flat.get("properties", {}), **merged.get("properties", {})}
        merged["required"] = [*flat.get("required", []), *merged.get("required", [])]
    return merged


def _type_of(spec: Mapping[str, Any], schema: Any) -> str:
    if isinstance(schema, Mapping) and "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    flat = _flatten(spec, schema)
    if flat.get("type") == "array":
        return f"array of {_type_of(spec, flat.get('items', {}))}"
    if "enum" in flat:
        return " | ".join(json.dumps(value) for value in flat["enum"])
    return str(flat.get("type") or "object")


def _text(value: Any) -> str:
    """Escaped text; `code` spans written in backticks become <code>."""
    parts = html.escape(str(value or "")).split("`")
    return "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))


def _anchor(method: str, route: str) -> str:
    return f"{method}-{route}".replace("/", "-").replace("{", "").replace("}", "").strip("-")


def _scrolling(table: str, caption: str) -> str:
    """A wide table scrolls sideways inside its own region, which the keyboard can reach."""
    return f"<div class='scroll' role='region' tabindex='0' aria-label='{html.escape(caption)}'>{table}</div>"


def _schema_table(spec: Mapping[str, Any], schema: Any, caption: str) -> str:
    flat = _flatten(spec, schema)
    properties = flat.get("properties") or {}
    if not properties:
        return f"<p>{html.escape(caption)}: <code>{html.escape(_type_of(spec, schema))}</code></p>"
    required = set(flat.get("required", []))
    rows = "".join(
        f"<tr><th scope='row'><code>{html.escape(name)}</code></th><td><code>{html.escape(_type_of(spec, prop))}"
        f"</code></td><td>{'yes' if name in required else 'no'}</td>"
        f"<td>{_text(_resolve(spec, prop).get('description', ''))}</td></tr>"
        for name, prop in properties.items()
    )
    return _scrolling(
        f"<table><caption>{html.escape(caption)}</caption><thead><tr><th scope='col'>Field</th>"
        f"<th scope='col'>Type</th><th scope='col'>Required</th><th scope='col'>Meaning</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>",
        caption,
    )


def _example(spec: Mapping[str, Any], media: Mapping[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    flat = _flatten(spec, media.get("schema", {}))
    return dict.fromkeys(flat.get("properties", {}))


def _operation(spec: Mapping[str, Any], route: str, method: str, operation: Mapping[str, Any]) -> str:
    anchor = _anchor(method, route)
    parameters = [_resolve(spec, p) for p in operation.get("parameters", [])]
    needs_key = operation.get("security", spec.get("security")) not in (None, [])
    parts = [
        f"<section class='operation' aria-labelledby='{anchor}'>",
        f"<h3 id='{anchor}'><span class='method'>{method.upper()}</span> <code>{html.escape(route)}</code></h3>",
        f"<p>{_text(operation.get('summary', ''))}</p>",
    ]
    if operation.get("description"):
        parts.append(f"<p>{_text(operation['description'])}</p>")
    parts.append(f"<p>{'Needs an API key.' if needs_key else 'No API key needed.'}</p>")
    if parameters:
        rows = "".join(
            f"<tr><th scope='row'><code>{html.escape(p['name'])}</code></th><td>{html.escape(p['in'])}</td>"
            f"<td><code>{html.escape(_type_of(spec, p.get('schema', {})))}</code></td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td><td>{_text(p.get('description', ''))}</td></tr>"
            for p in parameters
        )
        parts.append(
            _scrolling(
                "<table><caption>Parameters</caption><thead><tr><th scope='col'>Name</th><th scope='col'>In</th>"
                "<th scope='col'>Type</th><th scope='col'>Required</th><th scope='col'>Meaning</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>",
                f"Parameters of {method.upper()} {route}",
            )
        )
    body = _resolve(spec, operation.get("requestBody"))
    media = (body or {}).get("content", {}).get("application/json")
    if media is not None:
        parts.append(_schema_table(spec, media.get("schema", {}), f"Request body of {method.upper()} {route} (JSON)"))
    rows = []
    for code, response in operation.get("responses", {}).items():
        response = _resolve(spec, response)
        content = response.get("content", {}).get("application/json")
        shape = f"<code>{html.escape(_type_of(spec, content['schema']))}</code>" if content else ""
        headers = ", ".join(f"<code>{html.escape(name)}</code>" for name in response.get("headers", {}))
        rows.append(
            f"<tr><th scope='row'>{html.escape(str(code))}</th><td>{_text(response.get('description', ''))}</td>"
            f"<td>{shape}</td><td>{headers}</td></tr>"
        )
    parts.append(
        _scrolling(
            "<table><caption>Responses</caption><thead><tr><th scope='col'>Status</th><th scope='col'>Meaning</th>"
            f"<th scope='col'>Body</th><th scope='col'>Headers</th></tr></thead><tbody>{''.join(rows)}</tbody></table>",
            f"Responses of {method.upper()} {route}",
        )
    )
    parts.append(_explorer(spec, anchor, route, method, parameters, media))
    parts.append("</section>")
    return "".join(parts)


def _explorer(
    spec: Mapping[str, Any],
    anchor: str,
    route: str,
    method: str,
    parameters: list[Mapping[str, Any]],
    media: Mapping[str, Any] | None,
) -> str:
    fields = []
    for parameter in parameters:
        field_id = f"{anchor}-{parameter['in']}-{parameter['name']}"
        example = parameter.get("example", "")
        fields.append(
            f"<p><label for='{field_id}'>{html.escape(parameter['name'])} ({html.escape(parameter['in'])})</label> "
            f"<input id='{field_id}' data-in='{html.escape(parameter['in'])}' "
            f"data-name='{html.escape(parameter['name'])}' value='{html.escape(str(example))}'"
            f"{' required' if parameter.get('required') else ''}></p>"
        )
    if media is not None:
        example = json.dumps(_example(spec, media), indent=2)
        fields.append(
            f"<p><label for='{anchor}-body'>Request body (JSON)</label><br>"
            f"<textarea id='{anchor}-body' data-in='body' rows='5' cols='40'>{html.escape(example)}</textarea></p>"
        )
    return (
        f"<details><summary>Try <code>{method.upper()} {html.escape(route)}</code></summary>"
        f"<form class='try' data-method='{method.upper()}' data-path='{html.escape(route)}'>"
        f"{''.join(fields)}<p><button type='submit'>Send</button></p>"
        f"<pre class='answer' role='status' aria-live='polite' tabindex='0' aria-label='Answer'></pre>"
        "</form></details>"
    )


STYLE = """
:root { color-scheme: light dark; --fg: #1a1a1a; --bg: #ffffff; --muted: #4a4a4a; --line: #c8c8c8;
  --accent: #0b57d0; --code-bg: #f1f3f4; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8eaed; --bg: #121212; --muted: #c4c7c5; --line: #5f6368; --accent: #a8c7fa; --code-bg: #262626; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 1rem; }
a { color: var(--accent); }
code, pre, textarea, input { font-family: ui-monospace, monospace; font-size: 0.95em; }
code { background: var(--code-bg); padding: 0 0.2em; border-radius: 3px; overflow-wrap: anywhere; }
pre { background: var(--code-bg); padding: 0.5rem; overflow-x: auto; white-space: pre-wrap; min-height: 1.5em; }
.scroll { overflow-x: auto; margin: 0.5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-weight: 600; }
th, td { border: 1px solid var(--line); padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
.operation { border-top: 1px solid var(--line); padding-top: 0.5rem; }
.method { font-weight: 700; }
.muted { color: var(--muted); }
input, textarea { color: var(--fg); background: var(--bg); border: 1px solid var(--muted); max-width: 100%; }
button { font: inherit; padding: 0.25rem 1rem; color: #ffffff; background: #0b57d0; border: 0; border-radius: 4px; }
"""

# The explorer: fills the route's parameters, sends the request with the key typed above (kept in
# this page only), and shows the status and body. Written here, no library.
SCRIPT = """
const server = document.body.dataset.server;
for (const form of document.querySelectorAll("form.try")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = form.querySelector(".answer");
    let path = form.dataset.path;
    const query = new URLSearchParams();
    const headers = {};
    let body;
    for (const field of form.querySelectorAll("[data-in]")) {
      const where = field.dataset.in;
      if (where === "path") path = path.replace("{" + field.dataset.name + "}", encodeURIComponent(field.value));
      else if (where === "query" && field.value !== "") query.set(field.dataset.name, field.value);
      else if (where === "header" && field.value !== "") headers[field.dataset.name] = field.value;
      else if (where === "body") { body = field.value; headers["Content-Type"] = "application/json"; }
    }
    const key = document.getElementById("api-key").value;
    if (key) headers["X-API-Key"] = key;
    const url = server + path + (query.size ? "?" + query : "");
    answer.textContent = form.dataset.method + " " + url + " ...";
    try {
      const response = await fetch(url, { method: form.dataset.method, headers, body, mode: "cors" });
      const text = await response.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON: as sent */ }
      answer.textContent = response.status + " " + response.statusText + "\\n" + shown;
    } catch (error) {
      answer.textContent = "No answer (network or CORS): " + error.message;
    }
  });
}
"""


def render_reference_page(spec: Mapping[str, Any]) -> str:
    """The whole page for `spec` (its first server is where the explorer sends requests)."""
    info = spec["info"]
    server = spec.get("servers", [{"url": ""}])[0]["url"]
    tags = [tag["name"] for tag in spec.get("tags", [])]
    by_tag: dict[str, list[str]] = {tag: [] for tag in tags}
    contents: dict[str, list[str]] = {tag: [] for tag in tags}
    for route, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation(spec, route, method, operation))
            contents.setdefault(tag, []).append(
                f"<li><a href='#{_anchor(method, route)}'>{method.upper()} <code>{html.escape(route)}</code></a></li>"
            )
    descriptions = {tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])}
    sections = "".join(
        f"<section aria-labelledby='tag-{html.escape(tag)}'><h2 id='tag-{html.escape(tag)}'>{html.escape(tag)}</h2>"
        f"<p>{_text(descriptions.get(tag, ''))}</p>{''.join(operations)}</section>"
        for tag, operations in by_tag.items()
        if operations
    )
    toc = "".join(f"<li>{html.escape(tag)}<ul>{''.join(items)}</ul></li>" for tag, items in contents.items() if items)
    schemes = spec.get("components", {}).get("securitySchemes", {})
    auth = "".join(
        f"<li><code>{html.escape(s.get('name', name))}</code> ({html.escape(s.get('in', s.get('type', '')))}): "
        f"{_text(s.get('description', ''))}</li>"
        for name, s in schemes.items()
    )
    title = f"{info['title']} reference"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head>
<body data-server="{html.escape(server)}">
<header>
<h1>{html.escape(title)}</h1>
<p>Version {html.escape(str(info.get("version", "")))}. {_text(info.get("summary", ""))}</p>
<p class="muted">Server: <code>{html.escape(server)}</code>. The document:
<a href="openapi.json">openapi.json</a> (OpenAPI {html.escape(str(spec["openapi"]))}).</p>
</header>
<main>
<section aria-labelledby="overview">
<h2 id="overview">Overview</h2>
<p>{_text(info.get("description", ""))}</p>
<h3>Authentication</h3>
<ul>{auth}</ul>
<p><label for="api-key">Your API key, for the explorer (kept in this page only)</label><br>
<input id="api-key" type="password" autocomplete="off" size="40"></p>
<nav aria-label="Operations"><h3>Operations</h3><ul>{toc}</ul></nav>
</section>
{sections}
</main>
<footer><p class="muted">Generated from the API's OpenAPI document by the platform.</p></footer>
<script>{SCRIPT}</script>
</body>
</html>
"""
