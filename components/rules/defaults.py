"""Every default of the site config, in one table: the dataclasses (components/site.py) take theirs
from here, so a key the config leaves out holds its default wherever the model is read (the program,
`make verify`, the policy pack); the rules and the README's config reference state them too
(tests/test_defaults.py checks every default the README and docs/haproxy.md state).

A key absent here has no default: it is optional (none) or required, as its rule says."""
from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "adopt": False,
    "ssh.user": "root",
    "ssh.port": 22,
    "ssh.sudo": False,
    "ssh.bastion.port": 22,
    "install.edition": "enterprise",
    "install.installerUrl": "https://dl.elma365.com/onPremise/master/latest/download",
    "install.datastoreBackups": 5,
    "install.questionTimeoutSeconds": 30,
    "install.timeoutMinutes": 120,
    # MicroK8s signs server.crt and front-proxy-client.crt for 365 days: renewed in the last 60
    "install.certificates.renewDaysBefore": 60,
    "scaling.linkerd": True,
    "ha.enabled": False,
    "haproxy.bind": "*:80",
    "haproxy.backendPort": 80,
    "haproxy.configPath": "/etc/haproxy/haproxy.cfg",
    "haproxy.reloadCommand": "systemctl reload-or-restart haproxy",
    "haproxy.log": "/dev/log",
    "haproxy.shared": False,
    "haproxy.includePath": "/etc/haproxy/conf.d/elma365-cluster.cfg",
    "haproxy.retries": 3,
    "haproxy.redispatch": True,
    "haproxy.timeouts.connect": "5s",
    "haproxy.timeouts.client": "1m",
    "haproxy.timeouts.server": "10m",
    "haproxy.timeouts.tunnel": "1h",
    "haproxy.timeouts.clientFin": "30s",
    "haproxy.timeouts.httpRequest": "10s",
    "haproxy.timeouts.httpKeepAlive": "10s",
    "haproxy.timeouts.queue": "30s",
    "haproxy.timeouts.check": "2s",
    "haproxy.healthCheck.path": "/",
    "haproxy.healthCheck.inter": "1s",
    "haproxy.healthCheck.fall": 2,
    "haproxy.healthCheck.rise": 2,
    "haproxy.stats.uri": "/",
    "haproxy.tls.bind": "*:443",
    "haproxy.tls.certificatePath": "/etc/haproxy/elma365.pem",
    "haproxy.tls.redirectHttp": True,
    "haproxy.keepalived.virtualRouterId": 51,
    # VRRPv3 adverts every 0.5 s: a dead balancer's VIP moves within ~1.7 s (3 adverts + skew)
    "haproxy.keepalived.advertInterval": 0.5,
    "haproxy.keepalived.preempt": False,
    "haproxy.keepalived.configPath": "/etc/keepalived/keepalived.conf",
    "haproxy.keepalived.reloadCommand": "systemctl reload-or-restart keepalived",
    "preflight.enabled": True,
    # The vendor recommends Ubuntu Server 22.04 or Debian 11; the rest are common choices, not vendor
    # figures (see docs/preflight-and-kubernetes.md): set your site's own list.
    "preflight.supportedOs": ("ubuntu:20.04", "ubuntu:22.04", "ubuntu:24.04", "debian:11", "debian:12",
                              "astra:1.7", "redos:7.3"),
    # the vendor's published minimum for one ELMA365 On-Premises Enterprise server (500 users)
    "preflight.minCpuCores": 10,
    "preflight.minMemoryGiB": 16,
    "preflight.minFreeDiskGiB": 100,
    "preflight.diskPath": "/var/snap",
    "preflight.maxClockOffsetMs": 500,
    "preflight.portTimeoutSeconds": 2,
    "kubernetes.enabled": False,
}

# What the model holds for a key that is required only while its section is on: `ha.replicas` and
# `ha.failoverSeconds` are required when HA is enabled (so the README states no default for them),
# and hold these while it is off (what the component's inputs and the outputs show then).
WHILE_OFF: dict[str, Any] = {
    "ha.replicas": 3,
    "ha.failoverSeconds": 60,
}
