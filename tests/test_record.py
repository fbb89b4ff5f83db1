"""What a deployment leaves for the next one and shows the policy pack: the record (the stack output
`site`, components/record.py), typed and read the way earlier versions wrote it, so an upgrade finds
the nodes and balancers its previous run had; and the component's inputs, as earlier versions gave them."""
from __future__ import annotations

import json

import pytest

from components.record import FORMAT, Record, from_outputs
from components.site import parse_site
from components.site_view import configured, public_view
from tests.golden_sites import VARIANTS, secret_keys
from tests.mock_runtime import ROOT_DIR

# what the last landed version (f1f0e10) exported for the golden sites, each once
WRITTEN = json.loads((ROOT_DIR / "tests" / "records_f1f0e10.json").read_text())


@pytest.mark.parametrize("site", sorted(WRITTEN))
def test_a_record_the_last_landed_version_wrote_reads_back_unchanged(site):
    assert Record.from_dict(WRITTEN[site]).to_dict() == WRITTEN[site]


def test_this_version_writes_what_the_last_landed_version_wrote():
    written = {}
    for variant in VARIANTS.values():
        for values in (variant.values(), variant.previous_values()):
            if values is not None:
                record = Record.of(parse_site(values, secret_keys(values))).to_dict()
                written[json.dumps(record, sort_keys=True)] = record
    assert sorted(written) == sorted(json.dumps(r, sort_keys=True) for r in WRITTEN.values())


VIEWS = json.loads((ROOT_DIR / "tests" / "views_f1f0e10.json").read_text())


@pytest.mark.parametrize("variant", sorted(VIEWS))
def test_the_component_inputs_and_the_configured_output_are_what_the_last_landed_version_gave(variant):
    """The public view (the Elma365Cluster component's inputs, what the policy pack reads) and the
    `configured` output, selected from the model's declarations, hold all f1f0e10 had, unchanged."""
    values = VARIANTS[variant].values()
    site = parse_site(values, secret_keys(values))
    assert keeps({"public": public_view(site), "configured": configured(site)}, VIEWS[variant])


def keeps(now, then) -> bool:
    """`now` holds all of `then` unchanged (a key added since is no change to what was there)."""
    if isinstance(then, dict):
        return isinstance(now, dict) and all(k in now and keeps(now[k], v) for k, v in then.items())
    if isinstance(then, list):
        return isinstance(now, list) and len(now) == len(then) and all(map(keeps, now, then))
    return now == then


def without_nulls(value):
    """As a stack output gives an object back: its null members dropped."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return [without_nulls(v) for v in value] if isinstance(value, list) else value


@pytest.mark.parametrize("site", sorted(WRITTEN))
def test_a_record_read_back_from_the_stack_without_its_nulls_is_the_same(site):
    assert Record.from_dict(without_nulls(WRITTEN[site])) == Record.from_dict(WRITTEN[site])


def test_a_record_from_before_refreshes_rolled_has_no_microk8s_target():
    old = {k: v for k, v in WRITTEN["example (now)"].items() if k != "microk8s"}
    record = Record.from_dict(old)
    assert record.microk8s is None and record.to_dict() == old


def test_the_certificates_read_last_are_in_the_record_and_read_back_as_written():
    # what this version adds to a record of the last landed version: each node's certificate ends
    written = {**WRITTEN["example (now)"], "certificates": {
        "elma365-2": {"read": "2026-12-05T10:00:00Z", "ca.crt": "2035-01-01T00:00:00Z",
                      "server.crt": "2027-10-02T00:00:00Z", "renewal": "server.crt@2026-12-25T00:00:00Z"},
        "elma365-3": {"read": "2026-12-05T10:00:00Z", "server.crt": None, "renewal": ""}}}
    record = Record.from_dict(written)
    assert record.certificates["elma365-2"].ends["server.crt"] == "2027-10-02T00:00:00Z"
    assert record.certificates["elma365-2"].renewal == "server.crt@2026-12-25T00:00:00Z"
    assert record.certificates["elma365-3"].ends == {}   # absent: no end
    assert Record.from_dict(record.to_dict()) == record == Record.from_dict(without_nulls(written))
    # the last landed version's record has none: nothing read yet, so nothing is due
    assert Record.from_dict(WRITTEN["example (now)"]).certificates == {}


def test_no_record_or_another_format_is_a_new_stack():
    assert from_outputs({}) is None
    assert from_outputs({"site": {**WRITTEN["example (now)"], "format": FORMAT + 1}}) is None
    assert from_outputs({"site": "not a record"}) is None


def test_a_record_is_read_into_its_parts():
    record = from_outputs({"site": WRITTEN["example-two-balancers (now)"]})
    assert (record.main, record.active) == ("elma365-1", ("elma365-1", "elma365-2", "elma365-3"))
    assert record.nodes["elma365-2"].cluster_address == "192.168.1.52"
    assert [b.host for b in record.haproxy.balancers] == ["192.168.1.50", "192.168.1.49"]
    assert record.haproxy.keepalived.config_path == "/etc/keepalived/keepalived.conf"
