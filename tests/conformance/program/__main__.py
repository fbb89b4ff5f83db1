"""The probe program of tests/test_provider_conformance.py: one remote.Command per entry of the
config `conformance:commands`, on the lab host `conformance:site` (not part of the program).

An entry: name, create, update, delete, stdin (text), stdinFrom (another entry's name: its stdout,
prefixed by stdinPrefix), secretStdin, triggers, logging, environment, addPreviousOutputInEnv, port
(else the site's), dialErrorLimit, proxy, secretOutputs, ignoreChanges, after (names it depends on)."""
import pulumi
from pulumi_command import remote

config = pulumi.Config("conformance")
site = config.require_object("site")
key = config.require_secret("privateKey")
made: dict[str, remote.Command] = {}
for spec in config.require_object("commands"):
    proxy = spec.get("proxy")  # {"port": ..., "dialErrorLimit": ...}: the site's host as its own bastion
    connection = remote.ConnectionArgs(host=site["host"], port=spec.get("port", site["port"]), user="root",
                                       private_key=key, host_key=site["hostKey"],
                                       dial_error_limit=spec.get("dialErrorLimit"),
                                       proxy=None if proxy is None else remote.ProxyConnectionArgs(
                                           host=site["host"], port=proxy.get("port", site["port"]), user="root",
                                           private_key=key, host_key=site["hostKey"],
                                           dial_error_limit=proxy.get("dialErrorLimit")))
    stdin = spec.get("stdin")
    if "stdinFrom" in spec:
        stdin = made[spec["stdinFrom"]].stdout.apply(lambda out, prefix=spec.get("stdinPrefix", ""): prefix + out)
    if spec.get("secretStdin"):
        stdin = pulumi.Output.secret(stdin)
    made[spec["name"]] = remote.Command(
        spec["name"], connection=connection, create=spec.get("create"), update=spec.get("update"),
        delete=spec.get("delete"), stdin=stdin, triggers=spec.get("triggers"), logging=spec.get("logging"),
        environment=spec.get("environment"), add_previous_output_in_env=spec.get("addPreviousOutputInEnv"),
        opts=pulumi.ResourceOptions(additional_secret_outputs=spec.get("secretOutputs"),
                                    ignore_changes=spec.get("ignoreChanges"),
                                    depends_on=[made[n] for n in spec.get("after", [])]))
