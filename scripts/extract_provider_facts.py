"""Extract the Google provider's schema facts that the offline engine enforces.

    .venv/bin/python scripts/extract_provider_facts.py \\
        --provider /work/.mirror/hashicorp+terraform-provider-google-beta/repo [--provider-rev REV] \\
        --bridge /work/.mirror/pulumi+pulumi-gcp/repo [--bridge-rev REV] \\
        [--out offline/provider_facts/gcp.json]

Reads three sources, never the network:

- the Go schema of every resource in terraform-provider-google-beta (the provider pulumi-gcp
  bridges), read from a git mirror at a given revision: `ForceNew: true`, `Required: true`,
  `MaxItems: N`, the allowed values of `verify.ValidateEnum([]string{...})` and
  `validation.StringInSlice([]string{...}, false)` (on a field or on a list's elements), and
  the `customdiff.ForceNewIfChange("field", rule)` calls of each resource's CustomizeDiff;
- pulumi-gcp's `provider/cmd/pulumi-resource-gcp/bridge-metadata.json` (Terraform resource name
  to Pulumi type token);
- the installed pulumi-gcp Python SDK (the exact version the program runs with), for each
  type's engine property names (camelCase, lists pluralised by the bridge) and which inputs the
  SDK itself treats as required.

Only facts about inputs are kept, and only fields with a fact. A field is "required" when the
Terraform schema and the SDK agree (the bridge auto-names a required `name`, for instance).
The output holds one resource per line so that a regeneration reads as a reviewable diff.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "offline" / "provider_facts" / "gcp.json"
PROVIDER_SOURCES = ("google-beta/services/", "google-beta/tpgiamresource/", "google-beta/tpgresource/")
BRIDGE_METADATA = "provider/cmd/pulumi-resource-gcp/bridge-metadata.json"


# --- reading Go source ---------------------------------------------------------------------


def mask_go(source: str) -> str:
    """The source with every comment and the inside of every string/rune literal blanked (same
    length), so that braces and commas can be matched on it while offsets stay valid."""
    out = list(source)
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out[i:end] = [ch if ch == "\n" else " " for ch in source[i:end]]
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and source[j] != c:
                j += 2 if source[j] == "\\" else 1
            out[i + 1 : j] = " " * (j - i - 1)
            i = j + 1
        elif c == "`":
            j = source.find("`", i + 1)
            j = n if j < 0 else j
            out[i + 1 : j] = [ch if ch == "\n" else " " for ch in source[i + 1 : j]]
            i = j + 1
        else:
            i += 1
    return "".join(out)


CLOSERS = {"{": "}", "(": ")", "[": "]"}


def matching(masked: str, open_at: int) -> int:
    """Index of the bracket closing the one at `open_at`."""
    depth = 0
    for i in range(open_at, len(masked)):
        c = masked[i]
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced brackets")


def split_items(masked: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each comma-separated item between `start` and `end` at bracket depth 0."""
    items, depth, begin = [], 0, start
    for i in range(start, end):
        c = masked[i]
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif c == "," and depth == 0:
            items.append((begin, i))
            begin = i + 1
    items.append((begin, end))
    return [(a, b) for a, b in items if masked[a:b].strip()]


@dataclass
class GoFile:
    path: str
    source: str
    masked: str

    @property
    def package(self) -> str:
        return self.path.rsplit("/", 2)[-2]

    def text(self, start: int, end: int) -> str:
        return self.source[start:end].strip()


@dataclass(frozen=True)
class Span:
    file: GoFile
    start: int
    end: int

    @property
    def masked(self) -> str:
        return self.file.masked[self.start : self.end]

    @property
    def text(self) -> str:
        return self.file.source[self.start : self.end]

    def stripped(self) -> Span:
        m = self.masked
        left = len(m) - len(m.lstrip())
        right = len(m.rstrip())
        return Span(self.file, self.start + left, self.start + right)


@dataclass
class Index:
    """Every top-level func and var of the provider's Go source, by name."""

    funcs: dict[str, list[Span]] = field(default_factory=dict)
    vars: dict[str, list[Span]] = field(default_factory=dict)
    files: list[GoFile] = field(default_factory=list)

    FUNC = re.compile(r"^func (\w+)\([^\n]*\{\s*$", re.M)
    VAR = re.compile(r"^var (\w+)(?:\s+[^=\n]+?)?\s*=\s*", re.M)

    def add(self, file: GoFile) -> None:
        self.files.append(file)
        for match in self.FUNC.finditer(file.masked):
            open_at = match.end() - 1
            while file.masked[open_at] != "{":
                open_at -= 1
            self.funcs.setdefault(match.group(1), []).append(Span(file, open_at, matching(file.masked, open_at) + 1))
        for match in self.VAR.finditer(file.masked):
            brace = file.masked.find("{", match.end())
            newline = file.masked.find("\n", match.end())
            if brace < 0 or (0 <= newline < brace):
                continue
            self.vars.setdefault(match.group(1), []).append(Span(file, match.end(), matching(file.masked, brace) + 1))

    def lookup(self, table: dict[str, list[Span]], name: str, package: str) -> Span | None:
        found = table.get(name, [])
        same = [span for span in found if span.file.package == package]
        return (same or found or [None])[0]


# --- the schema of one resource --------------------------------------------------------------


@dataclass
class FieldFacts:
    required: bool = False
    optional: bool = False
    force_new: bool = False
    max_items: int | None = None
    enum: list[str] | None = None
    children: dict[str, FieldFacts] | None = None


ENUM = re.compile(r"(ValidateEnum|StringInSlice)\(\s*\[\]string\{(?P<values>[^}]*)\}(?P<rest>[^)]*)\)")
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
# customdiff.ForceNewIfChange("field", rule) and customdiff.ForceNewIf("field", rule or an inline
# func): the rule's name is recorded; offline.replacements implements the ones it can judge.
FORCE_NEW_IF = re.compile(r'ForceNewIf(?:Change)?\(\s*"(?P<path>[^"]+)"\s*,\s*(?P<rule>func\b|[\w.]+)')


class SchemaReader:
    """Resolves the Go expressions that build a resource's schema, as far as they are literal."""

    def __init__(self, index: Index):
        self.index = index
        self.unresolved: list[str] = []
        self.current = ""  # the Terraform resource being read, for the unresolved list

    def resource(self, span: Span, depth: int = 0) -> tuple[dict[str, FieldFacts], str]:
        """(fields, the CustomizeDiff text) of an expression yielding a *schema.Resource."""
        span = span.stripped()
        text = span.masked
        if depth > 6:
            return {}, ""
        literal = re.match(r"&?schema\.Resource\s*\{", text)
        if literal:
            open_at = span.start + literal.end() - 1
            return self._resource_literal(Span(span.file, open_at, matching(span.file.masked, open_at) + 1), depth)
        call = re.match(r"(?:[\w]+\.)?(\w+)\(", text)
        if call:
            name = call.group(1)
            args = Span(
                span.file, span.start + call.end() - 1, matching(span.file.masked, span.start + call.end() - 1) + 1
            )
            if name.startswith("ResourceIam"):
                return self._iam_resource(name, args, span.file.package), ""
            body = self.index.lookup(self.index.funcs, name, span.file.package)
            if body is not None:
                returned = self._returned(body, r"&schema\.Resource\s*\{")
                if returned is not None:
                    return self.resource(returned, depth + 1)
        variable = re.match(r"(?:\w+\.)?(\w+)$", text)
        if variable:
            value = self.index.lookup(self.index.vars, variable.group(1), span.file.package)
            if value is not None:
                return self.resource(value, depth + 1)
        self.unresolved.append(f"{self.current}: resource: {span.text[:80]}")
        return {}, ""

    def _returned(self, body: Span, literal: str) -> Span | None:
        """What a func body builds: its first `literal{...}`, else the expression it returns."""
        inner = re.search(literal, body.masked)
        if inner:
            start = body.start + inner.start()
            return Span(body.file, start, matching(body.file.masked, body.start + inner.end() - 1) + 1)
        returned = re.search(r"\breturn\s+", body.masked)
        if returned is None:
            return None
        start = body.start + returned.end()
        end = start
        depth = 0
        masked = body.file.masked
        while end < body.end:
            c = masked[end]
            if c in "{([":
                depth += 1
            elif c in "})]":
                if depth == 0:
                    break
                depth -= 1
            elif c == "\n" and depth == 0:
                break
            end += 1
        return Span(body.file, start, end)

    def _resource_literal(self, span: Span, depth: int) -> tuple[dict[str, FieldFacts], str]:
        fields: dict[str, FieldFacts] = {}
        custom = ""
        for key, value in self._keyed(span):
            if key == "Schema":
                fields = self.schema_map(value, depth)
            elif key == "CustomizeDiff":
                custom = value.text
        return fields, custom

    def _keyed(self, span: Span) -> list[tuple[str, Span]]:
        """`Key: value` items of a composite literal `{...}` (span includes the braces)."""
        pairs = []
        for a, b in split_items(span.file.masked, span.start + 1, span.end - 1):
            item = span.file.masked[a:b]
            match = re.match(r"\s*(\w+)\s*:", item)
            if match:
                pairs.append((match.group(1), Span(span.file, a + match.end(), b)))
        return pairs

    def _iam_resource(self, name: str, args: Span, package: str) -> dict[str, FieldFacts]:
        """tpgiamresource.ResourceIamMember(parentSchema, ...): the base schema merged with the parent's."""
        body = self.index.lookup(self.index.funcs, name, "tpgiamresource")
        items = split_items(args.file.masked, args.start + 1, args.end - 1)
        fields: dict[str, FieldFacts] = {}
        if body is not None:
            merge = re.search(r"Schema:\s*tpgresource\.MergeSchemas\((\w+),", body.masked)
            if merge:
                base = self.index.lookup(self.index.vars, merge.group(1), "tpgiamresource")
                if base is not None:
                    fields.update(self.schema_map(base, 0))
        if items:
            fields.update(self.schema_map(Span(args.file, *items[0]), 0))
        return fields

    def schema_map(self, span: Span, depth: int) -> dict[str, FieldFacts]:
        """Fields of an expression yielding map[string]*schema.Schema."""
        span = span.stripped()
        text = span.masked
        literal = re.match(r"map\[string\]\*schema\.Schema\s*\{", text)
        if literal:
            open_at = span.start + literal.end() - 1
            close = matching(span.file.masked, open_at)
            fields = {}
            for a, b in split_items(span.file.masked, open_at + 1, close):
                item = Span(span.file, a, b).stripped()
                key = re.match(r'"(\w+)"\s*:', item.text)
                if key:
                    facts = self.field(Span(span.file, item.start + key.end(), item.end), depth)
                    if facts is not None:
                        fields[key.group(1)] = facts
            return fields
        merge = re.match(r"(?:\w+\.)?MergeSchemas\(", text)
        if merge and depth < 6:
            open_at = span.start + merge.end() - 1
            fields = {}
            for a, b in split_items(span.file.masked, open_at + 1, matching(span.file.masked, open_at)):
                fields.update(self.schema_map(Span(span.file, a, b), depth + 1))
            return fields
        name = re.match(r"(?:\w+\.)?(\w+)(\(\))?$", text)
        if name and depth < 6:
            table = self.index.funcs if name.group(2) else self.index.vars
            body = self.index.lookup(table, name.group(1), span.file.package)
            if body is not None:
                inner = re.search(r"map\[string\]\*schema\.Schema\s*\{", body.masked)
                if inner:
                    return self.schema_map(Span(body.file, body.start + inner.start(), body.end), depth + 1)
        self.unresolved.append(f"{self.current}: schema: {span.text[:80]}")
        return {}

    def field(self, span: Span, depth: int) -> FieldFacts | None:
        """Facts of one `*schema.Schema` expression (a literal, or a func/var that returns one)."""
        span = span.stripped()
        text = span.masked
        literal = re.match(r"(&?schema\.Schema\s*)?\{", text)
        if not literal:
            call = re.match(r"(?:\w+\.)?(\w+)(\(.*\))?$", text, re.S)
            if call and depth < 6:
                table = self.index.funcs if call.group(2) else self.index.vars
                body = self.index.lookup(table, call.group(1), span.file.package)
                if body is not None:
                    inner = re.search(r"&schema\.Schema\s*\{", body.masked)
                    if inner:
                        return self.field(Span(body.file, body.start + inner.start(), body.end), depth + 1)
            self.unresolved.append(f"{self.current}: field: {span.text[:80]}")
            return None
        open_at = span.start + literal.end() - 1
        body = Span(span.file, open_at, matching(span.file.masked, open_at) + 1)
        facts = FieldFacts()
        for key, value in self._keyed(body):
            raw = value.text.strip()
            if key == "Required":
                facts.required = raw == "true"
            elif key == "Optional":
                facts.optional = raw == "true"
            elif key == "ForceNew":
                facts.force_new = raw == "true"
            elif key == "MaxItems" and raw.isdigit():
                facts.max_items = int(raw)
            elif key == "ValidateFunc":
                facts.enum = enum_values(raw) or facts.enum
            elif key == "Elem":
                elem = value.stripped()
                if re.match(r"&?schema\.Schema\s*\{", elem.masked):
                    inner = self.field(elem, depth + 1)
                    if inner is not None and inner.enum:
                        facts.enum = inner.enum
                else:
                    facts.children, _ = self.resource(elem, depth + 1)
        return facts


def enum_values(expression: str) -> list[str] | None:
    """Allowed values of a ValidateEnum / case-sensitive StringInSlice; None for anything else."""
    match = ENUM.search(expression)
    if not match or "true" in match.group("rest"):
        return None
    values = [v for v in STRING.findall(match.group("values")) if v != ""]
    return values or None


# --- the Pulumi side: installed SDK ---------------------------------------------------------


@dataclass
class ArgsClass:
    properties: dict[str, str]  # python name -> engine name
    required: set[str]  # python names without a default in __init__
    nested: dict[str, str]  # python name -> the Args class its value is made of


def sdk_classes(package_dir: Path) -> tuple[dict[str, dict[str, ArgsClass]], dict[str, tuple[str, str]]]:
    """Per SDK module, its input Args classes; and each resource token -> (module, Args class)."""
    modules: dict[str, dict[str, ArgsClass]] = {}
    tokens: dict[str, tuple[str, str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        module = str(path.parent.relative_to(package_dir))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = modules.setdefault(module, {})
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            if node.name.endswith("Args"):
                classes[node.name] = _args_class(node)
            else:
                token = _resource_token(node)
                if token:
                    tokens[token] = (module, f"{node.name}Args")
    return modules, tokens


def _args_class(node: ast.ClassDef) -> ArgsClass:
    properties: dict[str, str] = {}
    nested: dict[str, str] = {}
    required: set[str] = set()
    for item in node.body:
        if not isinstance(item, ast.FunctionDef):
            continue
        if item.name == "__init__":
            args = item.args.kwonlyargs
            for arg, default in zip(args, item.args.kw_defaults, strict=True):
                if default is None:
                    required.add(arg.arg)
            continue
        for decorator in item.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pulumi.getter":
                names = [k.value for k in decorator.keywords if k.arg == "name" and isinstance(k.value, ast.Constant)]
                properties[item.name] = str(names[0].value) if names else item.name
            elif ast.unparse(decorator) == "pulumi.getter":
                properties[item.name] = item.name
            else:
                continue
            annotation = ast.unparse(item.returns) if item.returns else ""
            ref = re.search(r"'(\w+Args)'", annotation)
            if ref:
                nested[item.name] = ref.group(1)
    return ArgsClass(properties, required, nested)


def _resource_token(node: ast.ClassDef) -> str | None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and ast.unparse(sub.func).endswith("__init__") and sub.args:
            first = sub.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("gcp:"):
                return first.value
    return None


def python_name(tf_name: str, properties: dict[str, str]) -> str | None:
    """The SDK's name for a Terraform field: the same, or pluralised as the bridge does for lists."""
    candidates = [tf_name, tf_name + "s", tf_name + "es"]
    if tf_name.endswith("y"):
        candidates.append(tf_name[:-1] + "ies")
    return next((c for c in candidates if c in properties), None)


# --- combining ------------------------------------------------------------------------------


@dataclass
class ResourceFacts:
    force_new: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    enums: dict[str, list[str]] = field(default_factory=dict)
    max_items: dict[str, int] = field(default_factory=dict)
    unmapped: int = 0

    def to_json(self, tf_name: str, rules: list[tuple[str, str]]) -> dict[str, Any]:
        data: dict[str, Any] = {"tf": tf_name}
        if self.force_new:
            data["forceNew"] = self.force_new
        if rules:
            data["forceNewIf"] = dict(rules)
        if self.required:
            data["required"] = self.required
        if self.enums:
            data["enums"] = self.enums
        if self.max_items:
            data["maxItems"] = self.max_items
        return data


def walk(
    fields: dict[str, FieldFacts],
    classes: dict[str, ArgsClass],
    args_name: str,
    prefix: str,
    facts: ResourceFacts,
    under_force_new: bool,
) -> dict[str, str]:
    """Fill `facts` with the engine paths of every field with a fact; returns tf -> engine name."""
    args = classes.get(args_name)
    names: dict[str, str] = {}
    if args is None:
        facts.unmapped += len(fields)
        return names
    for tf_name, spec in sorted(fields.items()):
        if not (spec.required or spec.optional):
            continue  # output only: never an input
        py = python_name(tf_name, args.properties)
        if py is None:
            facts.unmapped += 1
            continue
        engine = args.properties[py]
        names[tf_name] = engine
        path = f"{prefix}{engine}"
        if spec.force_new and not under_force_new:
            facts.force_new.append(path)
        # Required only where the SDK agrees (the bridge auto-names `name`, fills `project`...).
        if spec.required and py in args.required:
            facts.required.append(path)
        if spec.enum:
            facts.enums[path] = spec.enum
        if spec.max_items is not None and spec.max_items > 1:
            # MaxItems 1 blocks are flattened by the bridge into one object: no list to overflow.
            facts.max_items[path] = spec.max_items
        if spec.children and py in args.nested:
            walk(spec.children, classes, args.nested[py], f"{path}.", facts, under_force_new or spec.force_new)
    return names


def engine_path(
    tf_path: str, fields: dict[str, FieldFacts], classes: dict[str, ArgsClass], args_name: str
) -> str | None:
    """`settings.0.disk_size` -> `settings.diskSize`."""
    parts = [p for p in tf_path.split(".") if not p.isdigit()]
    out = []
    current: dict[str, FieldFacts] | None = fields
    args = classes.get(args_name)
    for part in parts:
        if current is None or args is None or part not in current:
            return None
        py = python_name(part, args.properties)
        if py is None:
            return None
        out.append(args.properties[py])
        spec = current[part]
        current = spec.children
        args = classes.get(args.nested.get(py, ""))
    return ".".join(out)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def read_tree(repo: Path, rev: str, prefixes: tuple[str, ...]) -> list[GoFile]:
    names = [
        name
        for name in git(repo, "ls-tree", "-r", "--name-only", rev, *prefixes).splitlines()
        if name.endswith(".go") and not name.endswith("_test.go")
    ]
    batch = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        input="".join(f"{rev}:{name}\n" for name in names).encode(),
        capture_output=True,
        check=True,
    ).stdout
    files, offset = [], 0
    for name in names:
        header_end = batch.index(b"\n", offset)
        size = int(batch[offset:header_end].split()[2])
        body = batch[header_end + 1 : header_end + 1 + size].decode("utf-8", errors="replace")
        offset = header_end + 1 + size + 1
        files.append(GoFile(name, body, mask_go(body)))
    return files


REGISTRATION = re.compile(r"registry\.Schema\s*\{")


def registered_resources(index: Index) -> dict[str, Span]:
    """Terraform resource name -> the expression that builds its *schema.Resource."""
    found: dict[str, Span] = {}
    for file in index.files:
        for match in REGISTRATION.finditer(file.masked):
            open_at = match.end() - 1
            block = Span(file, open_at, matching(file.masked, open_at) + 1)
            entries = dict(SchemaReader(index)._keyed(block))
            kind = entries.get("Type")
            if kind is None or kind.text.strip() not in (
                "registry.SchemaTypeResource",
                "registry.SchemaTypeIAMResource",
            ):
                continue
            name = STRING.search(entries["Name"].text) if "Name" in entries else None
            if name and "Schema" in entries:
                found[name.group(1)] = entries["Schema"]
    return found


def extract(provider: Path, provider_rev: str, bridge: Path, bridge_rev: str, note: str = "") -> dict[str, Any]:
    import pulumi_gcp

    index = Index()
    for file in read_tree(provider, provider_rev, PROVIDER_SOURCES):
        index.add(file)
    metadata = json.loads(git(bridge, "show", f"{bridge_rev}:{BRIDGE_METADATA}"))
    tf_to_token = {tf: entry["current"] for tf, entry in metadata["auto-aliasing"]["resources"].items()}
    modules, tokens = sdk_classes(Path(pulumi_gcp.__file__).parent)

    reader = SchemaReader(index)
    resources: dict[str, Any] = {}
    skipped: dict[str, list[str]] = {"no pulumi token": [], "not in the installed SDK": []}
    unmapped_fields = 0
    for tf_name, expression in sorted(registered_resources(index).items()):
        token = tf_to_token.get(tf_name)
        if token is None:
            skipped["no pulumi token"].append(tf_name)
            continue
        if token not in tokens:
            skipped["not in the installed SDK"].append(f"{tf_name} ({token})")
            continue
        module, args_name = tokens[token]
        reader.current = tf_name
        fields, custom = reader.resource(expression)
        classes = {**modules.get(module, {}), **modules.get(module.rsplit("/", 1)[0], {})}
        facts = ResourceFacts()
        walk(fields, classes, args_name, "", facts, False)
        unmapped_fields += facts.unmapped
        rules = []
        for match in FORCE_NEW_IF.finditer(custom):
            path = engine_path(match.group("path"), fields, classes, args_name)
            rule = match.group("rule").rsplit(".", 1)[-1]
            if path is not None:
                rules.append((path, "inline" if rule == "func" else rule))
        resources[token] = facts.to_json(tf_name, rules)

    head = git(provider, "log", "-1", "--format=%H %cI %s", provider_rev).strip().split(" ", 2)
    bridge_head = git(bridge, "log", "-1", "--format=%H %cI %s", bridge_rev).strip().split(" ", 2)
    tags = git(provider, "tag", "--points-at", head[0]).split()
    newest_tag = newest_release_before(provider, head[1])
    return {
        "provenance": {
            "provider": {
                "repository": "https://github.com/hashicorp/terraform-provider-google-beta",
                "commit": head[0],
                "committed": head[1],
                "subject": head[2],
                "tags": tags,
                # Release tags sit on release branches, not on main: the newest one cut before this commit.
                "newest_release_before": newest_tag,
            },
            "bridge": {
                "repository": "https://github.com/pulumi/pulumi-gcp",
                "file": BRIDGE_METADATA,
                "commit": bridge_head[0],
                "committed": bridge_head[1],
            },
            "sdk": {"package": "pulumi-gcp", "version": version("pulumi-gcp")},
            "script": "scripts/extract_provider_facts.py",
            "note": note,
            "extracted": datetime.date.today().isoformat(),
            "counts": {
                "resources": len(resources),
                "skipped": {reason: len(names) for reason, names in skipped.items()},
                "unmapped_fields": unmapped_fields,
                "unresolved_expressions": len(reader.unresolved),
            },
        },
        "resources": resources,
        "_unresolved": reader.unresolved,
    }


def newest_release_before(repo: Path, committed: str) -> str:
    refs = git(
        repo, "for-each-ref", "--sort=-creatordate", "--format=%(refname:short) %(creatordate:iso-strict)", "refs/tags"
    )
    limit = datetime.datetime.fromisoformat(committed)
    for line in refs.splitlines():
        name, _, date = line.partition(" ")
        if re.fullmatch(r"v\d+\.\d+\.\d+", name) and datetime.datetime.fromisoformat(date) <= limit:
            return name
    return ""


def dump(facts: dict[str, Any]) -> str:
    """Compact JSON, one resource per line, keys sorted: small and diffable."""
    lines = ["{", f'"provenance": {json.dumps(facts["provenance"], sort_keys=True)},', '"resources": {']
    items = sorted(facts["resources"].items())
    for i, (token, data) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(token)}: {json.dumps(data, sort_keys=True, separators=(',', ':'))}{comma}")
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--provider", type=Path, required=True, help="git dir of a terraform-provider-google-beta mirror"
    )
    parser.add_argument("--provider-rev", default="HEAD", help="tag or commit to read (default HEAD)")
    parser.add_argument("--bridge", type=Path, required=True, help="git dir of a pulumi-gcp mirror")
    parser.add_argument("--bridge-rev", default="HEAD", help="tag or commit of pulumi-gcp (default HEAD)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--verbose", action="store_true", help="list the Go expressions that could not be resolved")
    parser.add_argument("--note", default="", help="why this revision was chosen (kept in the provenance)")
    args = parser.parse_args(argv)
    facts = extract(args.provider, args.provider_rev, args.bridge, args.bridge_rev, args.note)
    unresolved = facts.pop("_unresolved")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump(facts), encoding="utf-8")
    counts = facts["provenance"]["counts"]
    sys.stderr.write(f"wrote {args.out}: {json.dumps(counts)}\n")
    if args.verbose:
        for line in unresolved:
            sys.stderr.write(f"  unresolved {line}\n")


if __name__ == "__main__":
    main()
