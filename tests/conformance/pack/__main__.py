"""A policy pack that judges nothing: it appends what a resource policy (the step's inputs) and a
stack policy (its outputs) see of each remote.Command to the JSON-lines file $CONFORMANCE_SEEN
(tests/test_provider_conformance.py; not part of the program)."""
import json
import os
from collections.abc import Mapping, Sequence

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

COMMAND = "command:remote:Command"


def seen(value):
    """The value as a policy reads it; "<unknown>" where reading raises UnknownValueError."""
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = seen(value[key])
            except UnknownValueError:
                out[key] = "<unknown>"
        return out
    if isinstance(value, Sequence) and not isinstance(value, str):
        out = []
        for i in range(len(value)):
            try:
                out.append(seen(value[i]))
            except UnknownValueError:
                out.append("<unknown>")
        return out
    return value


def record(kind, name, props):
    with open(os.environ["CONFORMANCE_SEEN"], "a") as handle:
        handle.write(json.dumps({"policy": kind, "name": name, "props": seen(props)}, sort_keys=True) + "\n")


def each_step(args, report):
    if args.resource_type == COMMAND:
        record("resource", args.name, args.props)


def the_stack(args, report):
    for resource in args.resources:
        if resource.resource_type == COMMAND:
            record("stack", resource.name, resource.props)


PolicyPack(name="conformance-probe", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    ResourceValidationPolicy(name="records-each-step", description="records a step's inputs", validate=each_step),
    StackValidationPolicy(name="records-the-stack", description="records every step's outputs", validate=the_stack),
])
