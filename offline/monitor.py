"""A resource monitor that records every registration the way the Pulumi engine receives it.

It stands in for the engine's gRPC monitor under the SDK's mock runtime. The request carries
what `Mocks.new_resource` never sees (parent, protect, dependencies, provider, aliases and the
other resource options), and the inputs exactly as serialised: engine (camelCase) property
names, secrets wrapped in their signature, unknowns as the unknown sentinel.

It also skips the SDK mock monitor's deserialise/serialise round trip through `Output`s: the
request is converted to plain data once, and the response is built straight from plain data.
"""

from __future__ import annotations

import sys
import urllib.parse
from typing import Any

from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_project, get_stack

from offline.stackfile import SECRET_PLACEHOLDER

from .graph import SECRET, STACK_TYPE, UNKNOWN, Resource
from .outputs import ComputedOutputs, OfflineInvokeError

SIGNATURE_KEY = rpc._special_sig_key
SECRET_SIGNATURE = rpc._special_secret_sig
RESOURCE_SIGNATURE = rpc._special_resource_sig
ASSET_SIGNATURES = {rpc._special_asset_sig: "asset", rpc._special_archive_sig: "archive"}


def to_graph_value(value: Any) -> Any:
    """Plain request data → what the graph shows: secrets and unknowns masked, references as URNs."""
    if isinstance(value, str):
        return UNKNOWN if value == rpc.UNKNOWN else value
    if isinstance(value, list):
        return [to_graph_value(item) for item in value]
    if isinstance(value, dict):
        signature = value.get(SIGNATURE_KEY)
        if signature == SECRET_SIGNATURE:
            return SECRET
        if signature == RESOURCE_SIGNATURE:
            return {"resource": value.get("urn", UNKNOWN)}
        if signature in ASSET_SIGNATURES:
            return {ASSET_SIGNATURES[signature]: value.get("path") or value.get("uri") or "[inline]"}
        return {key: to_graph_value(item) for key, item in value.items()}
    if isinstance(value, float) and value.is_integer():
        # protobuf Struct carries every number as a double; show integers as integers.
        return int(value)
    return value


def _plain_struct(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIGNATURE_KEY) == SECRET_SIGNATURE


class SecretLeakError(RuntimeError):
    """A secret config value reached the engine in plain text."""


def check_no_plain_secret(value: Any, where: str, path: str = "") -> None:
    """Refuse a config secret that the program passed on without Pulumi's secret marking:
    under `pulumi up` it would be stored unencrypted in the state and shown in previews."""
    if isinstance(value, str) and SECRET_PLACEHOLDER in value:
        raise SecretLeakError(
            f"a secret config value reaches {where} {path or '(value)'} in plain text; read it with "
            "`Config.require_secret`/`get_secret` (or wrap it with `pulumi.Output.secret`) so Pulumi keeps it encrypted"
        )
    if isinstance(value, dict):
        for key, item in value.items():
            check_no_plain_secret(item, where, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_no_plain_secret(item, where, f"{path}[{index}]")


class RecordingMonitor(mocks.MockMonitor):
    """Records the graph; answers registrations with `ComputedOutputs`."""

    def __init__(self, outputs: ComputedOutputs):
        super().__init__(_NoMocks())
        self.computed = outputs
        self.recorded: list[Resource] = []
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}
        self._ids: dict[str, str] = {}
        self._registered: dict[str, tuple[str, str]] = {}  # URN -> (parent URN, source file:line)
        # URN -> (parent URN, source) of each registration, for URNs registered more than once.
        self.duplicates: dict[str, list[tuple[str, str]]] = {}
        # Invoke tokens answered with stand-ins (simulated apply only).
        self.stand_ins: set[str] = set()

    def RegisterResource(self, request: resource_pb2.RegisterResourceRequest) -> resource_pb2.RegisterResourceResponse:
        urn = make_urn(get_stack(), get_project(), request.parent, request.type, request.name)
        inputs = _plain_struct(request.object)
        resource = self._record(urn, request, inputs)
        check_no_plain_secret(resource.inputs, f"{request.type} {request.name} input")
        # Where the program declared it, as the SDK tells the engine (the first frame outside it).
        registration = (request.parent, _source_path(request.sourcePosition))
        first = self._registered.setdefault(urn, registration)
        if first is not registration:
            # The engine refuses this registration; the run reports it once the program ends.
            self.duplicates.setdefault(urn, [first]).append(registration)
        self.recorded.append(resource)
        if request.type == STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        if not request.custom:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        resource_id, state = self.computed.for_resource(request.type, request.name, urn, inputs)
        # The engine marks these outputs secret (a provider's sensitive fields, or the
        # program's `additional_secret_outputs`); the SDK only asks for it.
        for key in request.additionalSecretOutputs:
            if key in state and not _is_secret(state[key]):
                state[key] = {SIGNATURE_KEY: SECRET_SIGNATURE, "value": state[key]}
        self._ids[urn] = resource_id
        response = struct_pb2.Struct()
        response.update(state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=response)

    def RegisterResourceOutputs(self, request: resource_pb2.RegisterResourceOutputsRequest) -> empty_pb2.Empty:
        if request.urn == self.stack_urn:
            self.stack_outputs = to_graph_value(_plain_struct(request.outputs))
            check_no_plain_secret(self.stack_outputs, "the stack output")
        return empty_pb2.Empty()

    def ReadResource(self, request: resource_pb2.ReadResourceRequest) -> resource_pb2.ReadResourceResponse:
        raise OfflineReadError(
            f"{request.type}.get({request.name!r}, id={request.id!r}) reads an existing cloud resource, "
            "which the offline engine cannot do; pass the value in through stack config instead"
        )

    def Invoke(self, request: resource_pb2.ResourceInvokeRequest) -> resource_pb2.ResourceInvokeResponse:
        if self.computed.preview:
            # A provider function reads the cloud: its answer is only known when it runs there.
            # The engine's "wholly unknown" answer makes the SDK resolve the result as unknown.
            if _called_in_plain_form():
                raise OfflineInvokeError(
                    f"the program calls provider function {request.tok} in its plain form, which needs the "
                    "cloud's answer while the program runs; the offline engine has none. Call its `_output` "
                    "form (e.g. `gcp.organizations.get_project_output(...)`), whose answer stays unknown in preview"
                )
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        result = self.computed.for_invoke(request.tok, _plain_struct(request.args))
        self.stand_ins.add(request.tok)
        response = struct_pb2.Struct()
        response.update(result)
        fields: dict[str, Any] = {"return": response}  # `return` is a Python keyword
        return resource_pb2.ResourceInvokeResponse(**fields)

    def _record(self, urn: str, request: resource_pb2.RegisterResourceRequest, inputs: dict[str, Any]) -> Resource:
        options: dict[str, Any] = {
            "protect": bool(request.protect),
            "retainOnDelete": bool(request.retainOnDelete),
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
            "ignoreChanges": sorted(request.ignoreChanges),
            "replaceOnChanges": sorted(request.replaceOnChanges),
            "additionalSecretOutputs": sorted(request.additionalSecretOutputs),
            "aliases": sorted(self._alias_urns(request)),
            # A provider reference is `<provider urn>::<provider id>`; the URN is what reviewers need.
            "provider": request.provider.rsplit("::", 1)[0] if request.provider else None,
        }
        return Resource(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            dependencies=list(request.dependencies),
            property_dependencies={key: list(deps.urns) for key, deps in request.propertyDependencies.items()},
            options=options,
            inputs=to_graph_value(inputs),
        )

    def _alias_urns(self, request: resource_pb2.RegisterResourceRequest) -> list[str]:
        """Each alias as the URN the resource answered to before (what the engine matches)."""
        urns = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            urns.append(
                make_urn(
                    spec.stack or get_stack(),
                    spec.project or get_project(),
                    "" if spec.noParent else (spec.parentUrn or request.parent),
                    spec.type or request.type,
                    spec.name or request.name,
                )
            )
        return urns


def make_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """A URN as the engine builds it: the parent's qualified type, `$`, then this resource's
    type; the root stack's type is left out, so top-level resources carry their own type only."""
    parent_type = parent.split("::")[2] if parent else ""
    if parent_type and parent_type != STACK_TYPE:
        type_ = parent_type + "$" + type_
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def _source_path(position: Any) -> str:
    """`/abs/path.py:12` from the SDK's source position (a file URI and a line), or ""."""
    uri = position.uri
    if not uri.startswith("file://"):
        return ""
    return f"{urllib.parse.unquote(uri.removeprefix('file://'))}:{position.line}"


def _called_in_plain_form() -> bool:
    """Whether the SDK's plain `invoke` (not `invoke_output`) is on the stack: it blocks on the
    answer, so an unknown one cannot be handed back to the program."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name in ("invoke", "invoke_output", "invoke_output_single") and code.co_filename.endswith(
            "pulumi/runtime/invoke.py"
        ):
            return code.co_name == "invoke"
        frame = frame.f_back
    return False


class OfflineReadError(RuntimeError):
    """The program read an existing resource (`Resource.get`), which needs the cloud."""


class _NoMocks(mocks.Mocks):
    """The base monitor wants a `Mocks`; every call goes through `ComputedOutputs` instead."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict]:
        raise NotImplementedError("RecordingMonitor answers registrations itself")

    def call(self, args: mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        raise NotImplementedError("RecordingMonitor answers invokes itself")
