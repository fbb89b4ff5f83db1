"""The lab's stand-in for the pulumi-command provider plugin (`pulumi-resource-command`): NOT part
of the program. The Go module proxy this project's CI reaches does not serve
`github.com/pulumi/pulumi-command/provider`, so CI runs this; ELMA365_COMMAND_PROVIDER puts the real
plugin in its place (docs/dev/lab.md), and tests/test_provider_conformance.py compares the two.

The real Pulumi CLI and language host drive it over the ordinary provider gRPC protocol, so state,
checkpoints, pending operations, diffs, replaces, secrets and policy packs are the real engine's.
What this file supplies is `command:remote:Command` as pulumi-command 1.2.1 implements it
(provider/pkg/provider/remote/*.go, on pulumi-go-provider 1.3's `infer`), down to what the engine
records and shows:

- CheckConfig adds `__pulumi-go-provider-version: 1.2.0`, as infer does.
- Check applies the schema's defaults to `connection` (and its `proxy`): user root, port 22,
  dialErrorLimit 10, perDialTimeout 15; marks `connection` secret, and inside it `password`,
  `privateKey` and `privateKeyPassword`; fills nothing else (no `addPreviousOutputInEnv`). A secret
  whose value is not known yet (a preview: stdin computed from another step's output) comes back as
  a secret empty string, as infer's decoding leaves it; a plain unknown stays unknown.
- Diff compares the engine's old inputs with the new ones the way the Go SDK's PropertyMap.Diff
  does, and answers with its detailed diff (paths such as `triggers[0]`, kinds add / delete /
  update, never a replace: the SDK's `replaceOnChanges: ["triggers[*]"]` makes the engine replace).
- Create's id is `<name>` and 8 hex digits; a preview runs nothing and leaves stdout and stderr
  unknown. Update runs `update`, else `create`; Delete runs the `delete` stored in the state.
- A command's output lines go to the engine as ephemeral (status) messages, stdout and stderr in the
  order they came, per `logging`. Before it runs, the previous stdout and stderr (unless
  `addPreviousOutputInEnv` is false) and `environment` are offered as environment variables; the
  lab's sshd accepts none, so each gives the real provider's warning (error, for `environment`).
- A failure is `Process exited with status N: running "<command>":\n<stdout and stderr>`; a host
  that cannot be reached is dialled 1 + dialErrorLimit times with the real backoff (0.1 s, x1.5,
  at most 5 s), each failure but the last reported as `Dial i/N failed: retrying`, then fails
  with `after N failed attempts: <Go's dial error>` (lab/ssh_exec.py words OpenSSH's as Go's).
- Every command opens its own SSH connection (the real provider dials once per command).
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import sys
import threading
import time
from concurrent import futures
from typing import Any, Callable, Optional

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2

from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, plugin_pb2, provider_pb2, provider_pb2_grpc

from lab import ssh_exec

VERSION = "1.2.1"  # the pulumi-command release whose semantics this follows (the SDK's pin)
GO_PROVIDER_VERSION = "1.2.0"  # what pulumi-command 1.2.1's infer records in its provider's config
SECRET = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
STRING_INPUTS = ("create", "update", "delete", "stdin", "logging")
CONNECTION_STRINGS = ("user", "password", "host", "privateKey", "privateKeyPassword", "agentSocketPath", "hostKey")
CONNECTION_SECRETS = ("password", "privateKey", "privateKeyPassword")
CONNECTION_DEFAULTS = {"user": "root", "port": 22, "dialErrorLimit": 10, "perDialTimeout": 15}
PREVIOUS_OUTPUT_ENV = (("stdout", "PULUMI_COMMAND_STDOUT"), ("stderr", "PULUMI_COMMAND_STDERR"))


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
    """Go's %q of a string (strconv.Quote), for an error worded as the real provider's."""
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
             '"': '\\"', "\\": "\\\\"}
    out = []
    for ch in text:
        if ch in named:
            out.append(named[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def set_env_message(key: str) -> str:
    """pulumi-command's logAndWrapSetenvErr text (a Go raw string: newline and tab included)."""
    return (f"Unable to set '{key}'. This only works if your SSH server is configured to accept\n"
            "\tthese variables via AcceptEnv. Alternatively, if a Bash-like shell runs the command on the remote "
            "host, you could\n\tprefix the command itself with the variables in the form 'VAR=value command'")


# ---------------------------------------------------------------- Check: infer's decode, defaults, secrets

def _known_or_empty(value: Any) -> Any:
    """infer decodes a secret whose value is unknown into a secret zero value (an empty string)."""
    if is_secret(value) and value.get("value") == UNKNOWN:
        return secret("")
    return value


def _connection_fields(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    for key, default in CONNECTION_DEFAULTS.items():
        if body.get(key) is None:
            body[key] = default
    for key in CONNECTION_STRINGS:
        if key in body:
            body[key] = _known_or_empty(body[key])
    for key in CONNECTION_SECRETS:
        if body.get(key) is not None:
            body[key] = secret(body[key])
    proxy = body.get("proxy")
    if is_secret(proxy) and isinstance(proxy.get("value"), dict):
        body["proxy"] = secret(_connection_fields(proxy["value"]))
    elif isinstance(proxy, dict):
        body["proxy"] = _connection_fields(proxy)
    return body


def _check_connection(conn: Any) -> Any:
    """`connection` is secret as a whole (provider:"secret"), and so are its secret fields inside."""
    body = conn.get("value") if is_secret(conn) else conn
    return secret(_connection_fields(body)) if isinstance(body, dict) else conn


def check_inputs(news: dict[str, Any]) -> dict[str, Any]:
    checked = dict(news)
    for key in STRING_INPUTS:
        if key in checked:
            checked[key] = _known_or_empty(checked[key])
    if checked.get("connection") is not None:
        checked["connection"] = _check_connection(checked["connection"])
    return checked


# ---------------------------------------------------------------- Diff: the Go SDK's PropertyMap.Diff

def _has_value(value: Any) -> bool:
    return value is not None


def _path(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if re.fullmatch(r"[A-Za-z0-9_$]+", key):
        return f"{prefix}.{key}" if prefix else key
    return prefix + '["' + key.replace('"', '\\"') + '"]'


def _diff_value(old: Any, new: Any, path: str, out: dict[str, int]) -> bool:
    """Adds the detailed diff of one value to `out`; False when the two are equal."""
    if isinstance(old, list) and isinstance(new, list):
        changed = False
        for i in range(max(len(old), len(new))):
            if i >= len(old):
                out[_path(path, i)] = provider_pb2.PropertyDiff.ADD
            elif i >= len(new):
                out[_path(path, i)] = provider_pb2.PropertyDiff.DELETE
            elif not _diff_value(old[i], new[i], _path(path, i), out):
                continue
            changed = True
        return changed
    if isinstance(old, dict) and isinstance(new, dict) and not is_secret(old) and not is_secret(new):
        return _diff_object(old, new, path, out)
    if old == new:  # secrets compare by what they wrap; a secret and a plain value always differ
        return False
    if old is None:
        out[path] = provider_pb2.PropertyDiff.ADD
    elif new is None:
        out[path] = provider_pb2.PropertyDiff.DELETE
    else:
        out[path] = provider_pb2.PropertyDiff.UPDATE
    return True


def _diff_object(olds: dict[str, Any], news: dict[str, Any], prefix: str, out: dict[str, int]) -> bool:
    changed = False
    for key in sorted(set(olds) | set(news)):
        path = _path(prefix, key)
        if key in olds and key in news:
            if not _diff_value(olds[key], news[key], path, out):
                continue
        elif key in olds and _has_value(olds[key]):
            out[path] = provider_pb2.PropertyDiff.DELETE
        elif key in news and _has_value(news[key]):
            out[path] = provider_pb2.PropertyDiff.ADD
        else:
            continue
        changed = True
    return changed


REPLACE_ON_CHANGES = {"triggers"}   # command.go: `provider:"replaceOnChanges"` (common.ResourceInputs)
REPLACE_OF = {provider_pb2.PropertyDiff.ADD: provider_pb2.PropertyDiff.ADD_REPLACE,
              provider_pb2.PropertyDiff.DELETE: provider_pb2.PropertyDiff.DELETE_REPLACE,
              provider_pb2.PropertyDiff.UPDATE: provider_pb2.PropertyDiff.UPDATE_REPLACE}


def detailed_diff(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    _diff_object(olds, news, "", out)
    return out


# ---------------------------------------------------------------- the engine's log

class Engine:
    """The engine's log service: messages appear under their resource."""

    def __init__(self, address: Optional[str]):
        self.stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(address)) if address else None

    def log(self, urn: str, message: str, severity: int = engine_pb2.INFO, ephemeral: bool = False) -> None:
        if self.stub is None:
            return
        try:
            self.stub.Log(engine_pb2.LogRequest(severity=severity, message=message, urn=urn, ephemeral=ephemeral))
        except grpc.RpcError:
            pass  # the engine went away (an interrupted run); the command's result still counts

    def status(self, urn: str, message: str) -> None:
        """pulumi-go-provider's InfoStatus: an ephemeral message."""
        self.log(urn, message, engine_pb2.INFO, ephemeral=True)


class LineLog:
    """The real provider writes the logged streams into one pipe and logs it line by line
    (bufio.Scanner: a line without its newline, a trailing carriage return dropped)."""

    def __init__(self, emit: Callable[[str], None]):
        self.emit = emit
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            self.emit(line.removesuffix(b"\r").decode(errors="replace"))

    def close(self) -> None:
        if self.pending:
            self.emit(self.pending.removesuffix(b"\r").decode(errors="replace"))
            self.pending = b""


class RemoteCommand(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, engine: Engine, mux_dir: Optional[str] = None):
        self.engine = engine
        self.mux_dir = mux_dir  # ELMA365_LAB_SSH_MUX=1: one SSH connection per host (the real provider has none)

    # ------------------------------------------------------------------ the plugin
    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=VERSION)

    def CheckConfig(self, request, context):
        news = to_dict(request.news)
        news.setdefault("__pulumi-go-provider-version", GO_PROVIDER_VERSION)
        return provider_pb2.CheckResponse(inputs=to_struct(news))

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
        return provider_pb2.CheckResponse(inputs=to_struct(check_inputs(to_dict(request.news))))

    def Diff(self, request, context):
        olds = to_dict(request.old_inputs) if request.HasField("old_inputs") else to_dict(request.olds)
        olds = {k: v for k, v in olds.items() if k not in ("stdout", "stderr")}
        state = to_dict(request.olds)
        news = {k: v for k, v in to_dict(request.news).items() if k != "version" and not k.startswith("__")}
        for key in request.ignoreChanges:
            if key in state:
                news[key] = state[key]
        detailed = detailed_diff(olds, news)
        # pulumi-go-provider (infer) forces a replace where a diff's path is itself a replaceOnChanges
        # input: `triggers` added or removed as a whole; an element (`triggers[0]`) is not, and is
        # left to the engine's replace-on-change (`triggers[*]`, set by the SDK)
        detailed = {path: REPLACE_OF.get(kind, kind) if path in REPLACE_ON_CHANGES else kind
                    for path, kind in detailed.items()}
        top = sorted({re.split(r"[.\[]", path, maxsplit=1)[0] for path in detailed})
        replaces = sorted({re.split(r"[.\[]", path, maxsplit=1)[0] for path, kind in detailed.items()
                           if kind in REPLACE_OF.values()})
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if detailed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=top, replaces=replaces, hasDetailedDiff=True,
            detailedDiff={path: provider_pb2.PropertyDiff(kind=kind) for path, kind in detailed.items()})

    def Create(self, request, context):
        props = to_dict(request.properties)
        rid = f"{request.name or request.urn.split('::')[-1]}{secrets.token_hex(4)}"
        if request.preview:
            return provider_pb2.CreateResponse(id=rid, properties=to_struct({**props, "stdout": UNKNOWN,
                                                                              "stderr": UNKNOWN}))
        outputs = {**props, "stdout": "", "stderr": ""}
        if plain(props.get("create")) is not None:
            outputs.update(self._run(request.urn, props, plain(props["create"]), {}, context))
        return provider_pb2.CreateResponse(id=rid, properties=to_struct(outputs))

    def Update(self, request, context):
        news = to_dict(request.news)
        olds = to_dict(request.olds)
        outputs = {**news, "stdout": olds.get("stdout", ""), "stderr": olds.get("stderr", "")}
        if request.preview:
            return provider_pb2.UpdateResponse(properties=to_struct({**news, "stdout": UNKNOWN, "stderr": UNKNOWN}))
        command = plain(news.get("update"))
        if command is None:
            command = plain(news.get("create"))
        if command is not None:
            outputs.update(self._run(request.urn, news, command, olds, context))
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    def Delete(self, request, context):
        props = to_dict(request.properties)
        if plain(props.get("delete")) is not None:
            self._run(request.urn, props, plain(props["delete"]), props, context)
        return empty_pb2.Empty()

    def Read(self, request, context):
        # pulumi-command cannot read a host: a refresh hands back what the state holds
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    # ------------------------------------------------------------------ one command over SSH
    def _run(self, urn: str, props: dict[str, Any], command: str, previous: dict[str, Any], context) -> dict[str, str]:
        conn = plain(props.get("connection") or {})
        try:
            session = ssh_exec.dial(conn, on_retry=lambda message: self.engine.status(urn, message),
                                    mux_dir=self.mux_dir)
        except ssh_exec.DialError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        try:
            return self._session(urn, props, command, previous, context, session)
        finally:
            session.close()

    def _session(self, urn: str, props: dict[str, Any], command: str, previous: dict[str, Any], context,
                 session: ssh_exec.Session) -> dict[str, str]:
        logging = plain(props.get("logging")) or "stdoutAndStderr"
        for key in sorted(plain(props.get("environment")) or {}):
            # the lab's sshd has no AcceptEnv, so session.Setenv fails, as it does there for the real provider
            self.engine.log(urn, set_env_message(key), engine_pb2.ERROR)
            context.abort(grpc.StatusCode.UNKNOWN, f'could not set environment variable "{key}": ssh: setenv failed')
        if plain(props.get("addPreviousOutputInEnv")) is not False:
            for stream, key in PREVIOUS_OUTPUT_ENV:
                if plain(previous.get(stream)):
                    self.engine.log(urn, set_env_message(key), engine_pb2.WARNING)

        lines = LineLog(lambda text: self.engine.status(urn, text))

        def output(stream: str, chunk: bytes) -> None:
            if logging == "stdoutAndStderr" or logging == stream:
                lines.feed(chunk)

        result = session.run(command, plain(props.get("stdin")), on_output=output)
        lines.close()
        if result.exit_code != 0:
            context.abort(grpc.StatusCode.UNKNOWN, f"{result.exit_text}: running {go_quote(command)}:\n{result.combined}")
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
