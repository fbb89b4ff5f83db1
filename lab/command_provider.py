"""The lab's stand-in for the pulumi-command provider plugin (`pulumi-resource-command`): NOT part
of the program, and used only because the real plugin cannot be built here (the Go module proxy
this project reaches does not serve `github.com/pulumi/pulumi-command/provider`; see lab/README.md).

The real Pulumi CLI and language host drive it over the ordinary provider gRPC protocol, so state,
checkpoints, pending operations, diffs, replaces, secrets and policy packs are the real engine's.
What this file supplies is `command:remote:Command` as pulumi-command 1.2.1 implements it
(provider/pkg/provider/remote/*.go, pulumi-go-provider `infer`):

- Check fills `addPreviousOutputInEnv` (default true); Diff compares every input with the state:
  a change of any input is an update, a change of `triggers` a replace. No custom diff, no Read.
- Create runs `create` (a preview runs nothing; stdout/stderr are unknown then); Update runs
  `update`, else `create`; Delete runs the `delete` stored in the state.
- `connection` is always secret; stdout and stderr follow `logging` into the engine's log.
- A failure is the error `Process exited with status N: running "<command>":\n<stdout+stderr>`,
  as the real provider words it (the command and all its output, whatever `logging` says).
- Every command opens its own SSH connection (the real provider dials once per command).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import sys
import threading
import time
from concurrent import futures
from typing import Any, Optional

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2

from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, plugin_pb2, provider_pb2, provider_pb2_grpc

from lab import ssh_exec

VERSION = "1.2.1"  # the pulumi-command release whose semantics this follows (the SDK's pin)
SECRET = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
OUTPUT_ONLY = ("stdout", "stderr")


def to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET) == SECRET_VALUE


def plain(value: Any) -> Any:
    """The value without secret wrappers (what the command needs)."""
    if is_secret(value):
        return plain(value.get("value"))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def secret(value: Any) -> Any:
    return value if is_secret(value) else {SECRET: SECRET_VALUE, "value": value}


def go_quote(text: str) -> str:
    """Go's %q of a string, for an error worded as the real provider's."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class CommandFailed(RuntimeError):
    pass


class Engine:
    """The engine's log service: a command's output lines appear under its resource."""

    def __init__(self, address: Optional[str]):
        self.stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(address)) if address else None

    def log(self, urn: str, message: str, severity: int = engine_pb2.INFO, ephemeral: bool = False) -> None:
        if self.stub is None:
            return
        try:
            self.stub.Log(engine_pb2.LogRequest(severity=severity, message=message, urn=urn, ephemeral=ephemeral))
        except grpc.RpcError:
            pass  # the engine went away (an interrupted run); the command's result still counts


class RemoteCommand(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, engine: Engine, mux_dir: Optional[str] = None):
        self.engine = engine
        self.mux_dir = mux_dir  # ELMA365_LAB_SSH_MUX=1: one SSH connection per host (the real provider has none)

    # ------------------------------------------------------------------ the plugin
    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=VERSION)

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request, context):
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True)

    def Cancel(self, request, context):
        return empty_pb2.Empty()

    # ------------------------------------------------------------------ the resource
    def _resource(self, type_: str, context) -> None:
        if type_ and type_ != "command:remote:Command":
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"the lab's command provider has no {type_}")

    def Check(self, request, context):
        self._resource(request.type or request.urn.split("::")[-2], context)
        news = to_dict(request.news)
        news.setdefault("addPreviousOutputInEnv", True)
        if "connection" in news:
            news["connection"] = secret(news["connection"])
        return provider_pb2.CheckResponse(inputs=to_struct(news))

    def Diff(self, request, context):
        olds = {k: v for k, v in to_dict(request.olds).items() if k not in OUTPUT_ONLY}
        news = to_dict(request.news)
        changed = sorted(k for k in set(olds) | set(news)
                         if json.dumps(plain(olds.get(k)), sort_keys=True) != json.dumps(plain(news.get(k)), sort_keys=True))
        replaces = [k for k in changed if k == "triggers"]
        detailed = {k: provider_pb2.PropertyDiff(
            kind=provider_pb2.PropertyDiff.UPDATE_REPLACE if k in replaces else provider_pb2.PropertyDiff.UPDATE,
            inputDiff=True) for k in changed}
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=changed, replaces=replaces, detailedDiff=detailed, hasDetailedDiff=True)

    def Create(self, request, context):
        props = to_dict(request.properties)
        rid = f"{request.name or request.urn.split('::')[-1]}-{secrets.token_hex(4)}"
        if request.preview:
            return provider_pb2.CreateResponse(id=rid, properties=to_struct({**props, "stdout": UNKNOWN,
                                                                              "stderr": UNKNOWN}))
        outputs = dict(props)
        if plain(props.get("create")):
            outputs.update(self._run(request.urn, props, plain(props["create"]), {}, context))
        return provider_pb2.CreateResponse(id=rid, properties=to_struct(outputs))

    def Update(self, request, context):
        news = to_dict(request.news)
        olds = to_dict(request.olds)
        outputs = {**news, **{k: olds[k] for k in OUTPUT_ONLY if k in olds}}
        if request.preview:
            return provider_pb2.UpdateResponse(properties=to_struct({**news, "stdout": UNKNOWN, "stderr": UNKNOWN}))
        command = plain(news.get("update")) or plain(news.get("create"))
        if command:
            outputs.update(self._run(request.urn, news, command, olds, context))
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    def Delete(self, request, context):
        props = to_dict(request.properties)
        if plain(props.get("delete")):
            self._run(request.urn, props, plain(props["delete"]), props, context)
        return empty_pb2.Empty()

    def Read(self, request, context):
        # pulumi-command cannot read a host: a refresh hands back what the state holds
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    # ------------------------------------------------------------------ one command over SSH
    def _run(self, urn: str, props: dict[str, Any], command: str, previous: dict[str, Any], context) -> dict[str, str]:
        conn = plain(props.get("connection") or {})
        logging = plain(props.get("logging")) or "stdoutAndStderr"
        if plain(props.get("environment")):
            # the lab's sshd has no AcceptEnv, so the real provider's session.Setenv would fail the same way
            context.abort(grpc.StatusCode.UNKNOWN,
                          "could not set environment variable: the lab's SSH servers accept no environment")
        if plain(props.get("addPreviousOutputInEnv", True)) and plain(previous.get("stdout")):
            self.engine.log(urn, "Unable to set 'PULUMI_COMMAND_STDOUT'. This only works if your SSH server is "
                                 "configured to accept these variables via AcceptEnv.", engine_pb2.WARNING)

        def line(stream: str, text: str) -> None:
            if logging == "stdoutAndStderr" or logging == stream:
                self.engine.log(urn, text.rstrip("\n"))

        try:
            result = ssh_exec.run(conn, command, plain(props.get("stdin")), on_line=line, mux_dir=self.mux_dir)
        except ssh_exec.DialError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        if result.exit_code != 0:
            context.abort(grpc.StatusCode.UNKNOWN, f"Process exited with status {result.exit_code}: "
                                                   f"running {go_quote(command)}:\n{result.combined}")
        return {"stdout": result.stdout.removesuffix("\n"), "stderr": result.stderr.removesuffix("\n")}


def main(argv: list[str]) -> int:
    engine_address = next((a for a in reversed(argv) if not a.startswith("-")), None)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    mux_dir = tempfile.mkdtemp(prefix="elma365-lab-mux.") if os.environ.get("ELMA365_LAB_SSH_MUX") == "1" else None
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(RemoteCommand(Engine(engine_address), mux_dir), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # the engine reads the port from the first line of stdout
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    parent = os.getppid()

    def orphaned() -> None:
        # the engine was killed (SIGKILL): let the commands under way end, as the real provider's do, then go
        while os.getppid() == parent:
            time.sleep(1)
        server.stop(grace=3600).wait()
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:  # the engine is done with this provider
        pass
    if mux_dir:
        ssh_exec.close_all(mux_dir)
        shutil.rmtree(mux_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
