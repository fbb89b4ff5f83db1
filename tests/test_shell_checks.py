"""The checks the join step makes before acting, run for real in bash with stand-in tools."""
from __future__ import annotations

import shlex
import subprocess

from components.render.join import TARGET, join_command
from components.site import parse_site
from tests.sites import SECRET_KEYS, example

SITE = parse_site(example(), SECRET_KEYS)


def run_join_script(tmp_path, status_output: str, target: str) -> subprocess.CompletedProcess:
    """The join step's script with stand-in `microk8s` and `sha256sum` on PATH; `microk8s join` is logged."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (tmp_path / "status.txt").write_text(status_output)
    microk8s = bin_dir / "microk8s"
    microk8s.write_text(f"""#!/bin/bash
case "$1" in
  status) cat {tmp_path}/status.txt ;;
  join) echo "join $2" >> {tmp_path}/joins.log ;;
esac
""")
    microk8s.chmod(0o755)
    script = shlex.split(join_command(SITE.nodes[1].name, SITE.main, SITE.adopt, "urn:pulumi:test::p::t::elma365-2-add-node",
                                      sudo=SITE.ssh.needs_sudo))[-1]
    script = script.replace("/var/lib/elma365-cluster", str(tmp_path / "state"))
    return subprocess.run(["bash", "-c", script], input=target + "\n", capture_output=True, text=True,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, timeout=30)


def test_a_member_is_recognised_even_when_status_prints_a_lot(tmp_path):
    # grep -q under pipefail would stop reading early, kill the writer with SIGPIPE and miss the match
    status = "microk8s is running\n  datastore master nodes: 192.168.1.51:19001 192.168.1.52:19001\n"
    status += "addon line\n" * 200_000
    result = run_join_script(tmp_path, status, "192.168.1.51:25000/abc/def")
    assert result.returncode == 0, result.stderr
    assert "already a member" in result.stdout
    assert not (tmp_path / "joins.log").exists()


def test_a_non_member_joins_once_with_its_token(tmp_path):
    result = run_join_script(tmp_path, "microk8s is running\n  datastore master nodes: 127.0.0.1:19001\n",
                             "192.168.1.51:25000/abc/def")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "joins.log").read_text() == "join 192.168.1.51:25000/abc/def\n"
    again = run_join_script(tmp_path, "  datastore master nodes: 127.0.0.1:19001\n", "192.168.1.51:25000/abc/def")
    assert again.returncode == 1 and "already used once" in again.stderr
    assert (tmp_path / "joins.log").read_text() == "join 192.168.1.51:25000/abc/def\n"


def test_a_malformed_join_target_is_refused_by_bash_as_by_python(tmp_path):
    for target in ("192.168.1.51:25000/abc/def; reboot", "$(reboot):25000/a/b", ""):
        assert not TARGET.match(target)
        result = run_join_script(tmp_path, "", target)
        assert result.returncode == 1 and "no usable join line" in result.stderr, (target, result.stderr)
    assert not (tmp_path / "joins.log").exists()
