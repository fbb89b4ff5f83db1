"""The check of each node's MicroK8s certificates: days left on each (what the preflight reads,
components/facts/certificates.py); a server or front proxy client certificate within
install.certificates.renewDaysBefore, or ended, is a drift `pulumi up` repairs; the CA within it is
one only a person repairs (docs/certificates.md); a server.crt that does not name the node's
cluster address is reported."""
from __future__ import annotations

from ... import names
from ...facts.certificates import CA, FACT_OF, SERVER
from ...facts.microk8s import parse_certificates
from ..repairs import certificate_repair, manual
from .base import Checks


def certificates(c: Checks) -> None:
    days_before = c.site.install.certificates.renew_days_before
    for node in c.active:
        s = c.section(node.name, names.READ_CERTIFICATES)
        if s is None:
            continue
        read = parse_certificates(s.out)
        if read is None:
            c.add(node.name, "certificates", "readable", f"not read: {s.out.strip()[:80]!r}", None)
            continue
        for cert in FACT_OF:
            found = read.certificates[cert]
            check = f"{cert} days left"
            expected = f"more than {days_before}"
            if found.days is None:
                c.add(node.name, check, expected, f"{found.state} (microk8s refresh-certs -c)", None)
                continue
            text = f"{found.days} (ends {found.end})" if found.days >= 0 else f"ended {-found.days} day(s) ago ({found.end})"
            ok = found.days > days_before and found.days >= 0
            if cert == CA:
                repair = manual(f"the CA is never renewed by pulumi up: docs/certificates.md (Certificates: the CA); "
                                f"every other node leaves and joins again after microk8s refresh-certs -e ca.crt on {c.main.name}")
            else:
                repair = certificate_repair(c.ctx, days_before)
            c.add(node.name, check, expected, text, ok, repair)
        named = read.has_address(node.cluster_address)
        c.add(node.name, f"{SERVER} names the cluster address", node.cluster_address,
              "yes" if named else "no: " + ",".join(read.sans) if named is not None else "not read", named,
              manual(f"reported, not repaired: {node.name}'s address changed since MicroK8s signed {SERVER} "
                     "(docs/certificates.md)"))
