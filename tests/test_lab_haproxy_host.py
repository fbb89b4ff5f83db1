"""The HAProxy host is left a good citizen: HAProxy runs as its own unprivileged user, chrooted,
logs to the host's syslog target, and answers on a root-only admin socket. Real CLI, real SSH."""
from __future__ import annotations

import copy
import socket
import time
from pathlib import Path

from lab.load import one, wait_all_in_rotation
from tests.lab_support import needs_lab

pytestmark = needs_lab


def test_haproxy_runs_unprivileged_and_logs_to_the_hosts_syslog(new_lab):
    lab = new_lab()
    address = lab.info["haproxy"]["address"]
    syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the host's log, as a syslog receiver
    syslog.bind((address, 0))
    syslog.settimeout(0.2)
    values = copy.deepcopy(lab.values)
    values["haproxy"]["log"] = f"{address}:{syslog.getsockname()[1]}"
    report = lab.up(values)
    assert report.ok, report.failures

    run = Path(lab.info["labDir"]) / "nodes" / "haproxy" / "run" / "haproxy"
    pids = (run / "haproxy.pid").read_text().split()
    assert pids
    for pid in pids:  # every HAProxy process of the host: none runs as root
        uid = next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("Uid:"))
        assert uid != "0" and uid == str(__import__("pwd").getpwnam("haproxy").pw_uid)
        assert Path(f"/proc/{pid}/root").resolve() == Path("/var/lib/haproxy")  # chrooted
    socket_file = run / "admin.sock"
    assert socket_file.exists() and oct(socket_file.stat().st_mode)[-3:] == "600"

    url = f"http://{address}:80/"
    wait_all_in_rotation(url, {"elma365-1", "elma365-2", "elma365-3"}, deadline=10.0)
    assert one(url).ok
    logged, deadline = [], time.monotonic() + 5
    while time.monotonic() < deadline and not any("elma365_web" in line for line in logged):
        try:
            logged.append(syslog.recv(65536).decode(errors="replace"))
        except socket.timeout:
            pass
    syslog.close()
    assert any("elma365_web" in line for line in logged), logged


def test_on_a_shared_host_the_other_site_survives_every_apply_and_the_removal(new_lab):
    # one node without HA: the program does not require HAProxy there, so it can be removed too
    lab = new_lab(nodes=1, all_nodes=True)
    address = lab.info["haproxy"]["address"]
    live = Path(lab.info["labDir"]) / "nodes" / "haproxy" / "etc" / "haproxy" / "haproxy.cfg"
    own = (f"global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n"
           f"    timeout server 5s\n\nlisten other_site\n    bind {address}:8181\n"
           f"    http-request return status 200 content-type text/plain string other-site\n")
    live.parent.mkdir(parents=True, exist_ok=True)
    live.write_text(own)
    values = copy.deepcopy(lab.values)
    values["ha"] = {"enabled": False}
    values["haproxy"]["shared"] = True

    def other_site_answers() -> bool:
        return one(f"http://{address}:8181/").ok

    assert lab.up(values).ok
    include = live.parent / "conf.d" / "elma365-cluster.cfg"
    assert "listen elma365_web" in include.read_text() and "\nglobal\n" not in include.read_text()
    assert live.read_text() == own and other_site_answers()
    wait_all_in_rotation(f"http://{address}:80/", {"elma365-1"}, deadline=10.0)

    values["haproxy"]["retries"] = 2           # another apply of the program's config
    report = lab.up(values)
    assert report.ok and ("haproxy-config", "update") in report.ran()
    assert live.read_text() == own and other_site_answers()

    del values["haproxy"]                      # and the program's config off the host
    report = lab.up(values)
    assert report.ok and ("haproxy-removal", "create") in report.ran()
    assert not include.exists() and include.with_name("elma365-cluster.cfg.disabled-by-elma365-cluster").exists()
    assert live.read_text() == own and other_site_answers()
    assert not one(f"http://{address}:80/").ok
