"""HAProxy: the version-aware config generator, its site-config keys, and the apply script run for real.

The 2.6 rendering is checked with the real `haproxy -c` installed here; so is the manual's example,
which HAProxy 2.1+ refuses (the reason the generator exists)."""
from __future__ import annotations

import dataclasses
import difflib
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from components.render.haproxy import (CERT_SEPARATOR, UnsupportedHaproxy, apply_command, haproxy_config,
                                       parse_version, stdin_bundle)
from components.site import Node, SiteConfigError, parse_site
from tests.haproxy_support import MANUAL_EXAMPLE
from tests.mock_runtime import run_program
from tests.sites import SECRET_KEYS, cluster_outputs, example

HAVE_HAPROXY = shutil.which("haproxy") is not None
needs_haproxy = pytest.mark.skipif(not HAVE_HAPROXY, reason="haproxy is not installed (make test installs it)")
STATS_PASSWORD = "St4ts-Pa55word!"


def site(**haproxy):
    values = example()
    values["haproxy"].update(haproxy)
    secret = SECRET_KEYS | ({"haproxy"} if {"stats", "tls"} & set(haproxy) else set())
    return parse_site(values, secret)


def render(version, **haproxy):
    s = site(**haproxy)
    return haproxy_config(s.haproxy, s.nodes, version)


def haproxy_check(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "check.cfg"
    path.write_text(text)
    return subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def pem(tmp_path_factory) -> str:
    if not shutil.which("openssl"):
        pytest.skip("openssl is missing")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=elma365.test",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "crt.pem")], check=True, capture_output=True)
    return (d / "crt.pem").read_text() + (d / "key.pem").read_text()


# ---------------------------------------------------------------- the version the host reports

@pytest.mark.parametrize("text,version", [
    ("HA-Proxy version 1.8.19 2019/02/11", (1, 8)),
    ("HA-Proxy version 1.9.16 2020/07/31 - https://haproxy.org/", (1, 9)),
    ("HA-Proxy version 2.0.33-0ubuntu0.1 2023/10/31 - https://haproxy.org/", (2, 0)),
    ("HAProxy version 2.6.12-1+deb12u3 2025/10/03 - https://haproxy.org/", (2, 6)),
    ("HAProxy version 3.0.5-1 2024/09/19 - https://haproxy.org/", (3, 0)),
    ("HAProxy version 3.2.0 2025/05/28 - https://haproxy.org/", (3, 2)),
])
def test_the_version_is_read_from_haproxy_v(text, version):
    assert parse_version(text) == version


@pytest.mark.parametrize("text,message", [
    ("HA-Proxy version 1.7.14 2021/03/31", "older than the oldest supported, 1.8"),
    ("bash: haproxy: command not found", "cannot tell the HAProxy version"),
    ("", "cannot tell the HAProxy version"),
])
def test_an_unknown_or_too_old_version_is_refused(text, message):
    with pytest.raises(UnsupportedHaproxy, match=message):
        parse_version(text)


# ---------------------------------------------------------------- one rendering per version family

COMMON = ["balance leastconn", "option forwardfor", "option redispatch 1", "retries 3", "timeout tunnel 1h",
          "timeout client 1m", "timeout server 10m", "timeout connect 5s", "default-server inter 1s fall 2 rise 2",
          "server elma365-1 192.168.1.51:80 check", "server elma365-2 192.168.1.52:80 check",
          "server elma365-3 192.168.1.53:80 check"]


def lines(config: str) -> list[str]:
    return [line.strip() for line in config.splitlines()]


def test_1_8_uses_the_manuals_health_check_and_nothing_newer():
    config = lines(render((1, 8)))
    assert set(COMMON) <= set(config)
    assert "option httpchk HEAD /" in config
    assert not any("http-use-htx" in l or "http-check send" in l or "retry-on" in l or "l7-retry" in l for l in config)


def test_2_0_keeps_the_manuals_no_option_http_use_htx():
    config = lines(render((2, 0)))
    assert set(COMMON) <= set(config)
    assert "no option http-use-htx" in config and "option httpchk HEAD /" in config
    assert not any("http-check send" in l or "retry-on" in l for l in config)


def test_2_1_has_no_http_use_htx_and_the_old_health_check_syntax():
    config = lines(render((2, 1)))
    assert "option httpchk HEAD /" in config and not any("http-use-htx" in l for l in config)
    assert "retry-on conn-failure empty-response" in config


@pytest.mark.parametrize("version", [(2, 2), (2, 6), (3, 0), (3, 2)])
def test_2_2_and_later_use_http_check_send(version):
    config = lines(render(version))
    assert set(COMMON) <= set(config)
    assert config.index("option httpchk") + 1 == config.index("http-check send meth HEAD uri /")
    assert "option httpchk HEAD /" not in config and not any("http-use-htx" in l for l in config)
    assert "retry-on conn-failure empty-response" in config
    assert "http-request disable-l7-retry unless METH_GET" in config  # only GET/HEAD are ever replayed


def test_the_2_6_rendering_in_full():
    assert render((2, 6)) == """\
# managed by elma365-cluster: do not edit; `make verify` reports edits, `pulumi up --replace` of haproxy-config undoes them
# rendered for HAProxy 2.6 (as `haproxy -v` reported it)

global
    maxconn 4096
    user haproxy
    group haproxy
    chroot /var/lib/haproxy
    log /dev/log local0
    stats socket /run/haproxy/admin.sock mode 600 level admin
    stats timeout 30s

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 5s
    timeout client 1m
    timeout server 10m
    timeout tunnel 1h
    timeout client-fin 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout queue 30s
    timeout check 2s
    retries 3
    option redispatch 1

listen elma365_web
    bind *:80
    mode http
    balance leastconn
    option forwardfor
    retry-on conn-failure empty-response
    http-request disable-l7-retry unless METH_GET
    option httpchk
    http-check send meth HEAD uri /
    default-server inter 1s fall 2 rise 2
    server elma365-1 192.168.1.51:80 check
    server elma365-2 192.168.1.52:80 check
    server elma365-3 192.168.1.53:80 check
"""


def test_every_default_can_be_overridden():
    config = lines(render((2, 6), timeouts={"tunnel": "8h", "client": "30s", "server": 600000, "check": "500ms"},
                          retries=1, redispatch=False, healthCheck={"path": "/health", "inter": "2s", "fall": 3, "rise": 5}))
    assert {"timeout tunnel 8h", "timeout client 30s", "timeout server 600000", "timeout check 500ms", "retries 1",
            "http-check send meth HEAD uri /health", "default-server inter 2s fall 3 rise 5"} <= set(config)
    assert "timeout connect 5s" in config  # the others keep their defaults
    assert not any("redispatch" in l for l in config)


def test_stats_page_on_its_own_bind_with_credentials():
    config = render((2, 6), stats={"bind": "127.0.0.1:8404", "user": "ops", "password": STATS_PASSWORD})
    stats = config[config.index("listen stats"):]
    assert "    bind 127.0.0.1:8404\n" in stats and f"    stats auth ops:{STATS_PASSWORD}\n" in stats
    assert "    stats uri /\n" in stats


def test_tls_terminates_on_443_and_redirects_http(pem):
    config = lines(render((2, 6), tls={"certificate": pem}))
    assert "bind *:443 ssl crt /etc/haproxy/elma365.pem alpn h2,http/1.1" in config
    assert "http-request redirect scheme https code 301 unless { ssl_fc }" in config
    assert "http-request set-header X-Forwarded-Proto https if { ssl_fc }" in config
    assert "bind *:443 ssl crt /etc/haproxy/elma365.pem" in lines(render((1, 8), tls={"certificate": pem}))
    no_redirect = lines(render((2, 6), tls={"certificate": pem, "redirectHttp": False}))
    assert not any("redirect" in l for l in no_redirect)


def test_the_certificate_travels_after_the_config_in_the_stdin_bundle(pem):
    s = site(tls={"certificate": pem})
    bundle = stdin_bundle(s.haproxy, s.nodes, "HAProxy version 2.6.12")
    config, _, certificate = bundle.partition(CERT_SEPARATOR + "\n")
    assert config == haproxy_config(s.haproxy, s.nodes, (2, 6)) and certificate == pem
    assert CERT_SEPARATOR not in stdin_bundle(site().haproxy, s.nodes, "HAProxy version 2.6.12")


def test_adding_or_removing_a_node_changes_only_the_backend_list():
    s = site()
    four = s.nodes + (Node("elma365-4", "192.168.1.54", "10.0.0.54"),)
    for version in ((1, 8), (2, 0), (2, 6), (3, 0)):
        before, after = haproxy_config(s.haproxy, s.nodes, version), haproxy_config(s.haproxy, four, version)
        diff = [l for l in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
                if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        assert diff == ["+    server elma365-4 10.0.0.54:80 check"]
        removed = haproxy_config(s.haproxy, s.nodes[:2], version)
        assert [l for l in before.splitlines() if l not in removed.splitlines()] == [
            "    server elma365-3 192.168.1.53:80 check"]


# ---------------------------------------------------------------- the real haproxy -c (2.6 here)

@needs_haproxy
def test_the_manuals_example_verbatim_is_rejected_by_haproxy(tmp_path):
    """Why the generator exists: HAProxy 2.1+ has no `option http-use-htx` (HTX is the only mode)."""
    done = haproxy_check(MANUAL_EXAMPLE, tmp_path)
    assert done.returncode != 0
    assert "negation/default is not supported for option 'http-use-htx'" in done.stderr


@needs_haproxy
def test_the_rendering_for_the_installed_version_is_valid(tmp_path):
    version = parse_version(subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout)
    assert version >= (2, 2)
    done = haproxy_check(render(version), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr


@needs_haproxy
@pytest.mark.parametrize("version", [(2, 2), (2, 6), (3, 0)])
def test_the_2_2_and_later_renderings_pass_haproxy_2_6_with_stats_and_tls(version, tmp_path, pem):
    crt = tmp_path / "site.pem"
    crt.write_text(pem)
    config = render(version, stats={"bind": "127.0.0.1:8404", "user": "ops", "password": STATS_PASSWORD},
                    tls={"certificate": pem, "certificatePath": str(crt)})
    done = haproxy_check(config, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr


# ---------------------------------------------------------------- the apply script, run here for real

def run_apply(haproxy, stdin: str) -> subprocess.CompletedProcess:
    script = apply_command(haproxy, sudo=site().ssh.needs_sudo)
    return subprocess.run(script, shell=True, input=stdin, capture_output=True, text=True, timeout=60)


@pytest.fixture
def live(tmp_path):
    """A live config and a reload command that records each reload."""
    cfg = tmp_path / "etc" / "haproxy.cfg"
    cfg.parent.mkdir()
    log = tmp_path / "reloads"
    s = site()
    good = haproxy_config(s.haproxy, s.nodes, (2, 6))
    cfg.write_text(good)
    haproxy = dataclasses.replace(s.haproxy, config_path=str(cfg), reload_command=f"echo reloaded >> {log}")
    return cfg, log, haproxy, good


@needs_haproxy
def test_a_config_haproxy_rejects_never_replaces_the_live_one(live):
    cfg, log, haproxy, good = live
    forced = dataclasses.replace(haproxy, backend_port=0)  # what validation refuses, forced past it
    bad = haproxy_config(forced, site().nodes, (2, 6))
    assert ":0 check" in bad
    done = run_apply(forced, bad)
    assert done.returncode == 1
    assert "HAProxy rejected the new config; the live one is unchanged" in done.stderr
    assert "has neither service port nor check port" in done.stderr  # HAProxy's own message
    assert cfg.read_text() == good and not log.exists()
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["haproxy.cfg"]  # no temp file left behind


@needs_haproxy
def test_a_valid_config_is_swapped_in_root_only_with_a_backup_and_reloaded(live):
    cfg, log, haproxy, good = live
    s = site()
    new = haproxy_config(haproxy, s.nodes[:2], (2, 6))
    done = run_apply(haproxy, new)
    assert done.returncode == 0, done.stderr
    assert cfg.read_text() == new and Path(str(cfg) + ".bak").read_text() == good
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert log.read_text() == "reloaded\n"
    again = run_apply(haproxy, new)
    assert again.returncode == 0 and "unchanged" in again.stdout and log.read_text() == "reloaded\n"


@needs_haproxy
def test_a_failed_reload_puts_the_previous_config_back_with_the_reload_message(live):
    cfg, log, haproxy, good = live
    failing = dataclasses.replace(haproxy, reload_command="echo 'haproxy: cannot bind socket' >&2; false")
    done = run_apply(failing, haproxy_config(haproxy, site().nodes[:1], (2, 6)))
    assert done.returncode == 1
    assert "cannot bind socket" in done.stderr and "the previous config is restored" in done.stderr
    assert cfg.read_text() == good


@needs_haproxy
def test_tls_certificate_is_installed_root_only_and_validated_with_the_config(live, pem, tmp_path):
    cfg, log, haproxy, _ = live
    crt = tmp_path / "etc" / "site.pem"
    s = site(tls={"certificate": pem, "certificatePath": str(crt)})
    with_tls = dataclasses.replace(haproxy, tls=s.haproxy.tls)
    done = run_apply(with_tls, stdin_bundle(with_tls, s.nodes, "HAProxy version 2.6.12"))
    assert done.returncode == 0, done.stderr
    assert crt.read_text() == pem and stat.S_IMODE(crt.stat().st_mode) == 0o600
    assert f"ssl crt {crt}" in cfg.read_text() and CERT_SEPARATOR not in cfg.read_text()
    # a broken certificate is refused by haproxy -c: neither file changes
    before = cfg.read_text()
    broken = stdin_bundle(with_tls, s.nodes[:2], "HAProxy version 2.6.12").replace(pem, "garbage\n")
    done = run_apply(with_tls, broken)
    assert done.returncode == 1 and "HAProxy rejected the new config" in done.stderr
    assert crt.read_text() == pem and cfg.read_text() == before


# ---------------------------------------------------------------- site config keys

def refused(secret_keys=SECRET_KEYS, **haproxy) -> list[str]:
    values = example()
    values["haproxy"].update(haproxy)
    with pytest.raises(SiteConfigError) as error:
        parse_site(values, secret_keys)
    return [str(v) for v in error.value.violations]


WITH_HAPROXY = SECRET_KEYS | {"haproxy"}


@pytest.mark.parametrize("haproxy,secret,message", [
    ({"timeouts": {"tunnel": "1 hour"}}, SECRET_KEYS,
     'elma365:haproxy.timeouts.tunnel = "1 hour": must be an HAProxy time such as 500ms, 5s, 1m, 1h'),
    ({"timeouts": {"websocket": "1h"}}, SECRET_KEYS, 'elma365:haproxy.timeouts.websocket = "1h": unknown key'),
    ({"timout": {}}, SECRET_KEYS, "elma365:haproxy.timout = {}: unknown key"),
    ({"retries": 50}, SECRET_KEYS, "elma365:haproxy.retries = 50: must be a whole number between 0 and 10"),
    ({"redispatch": "yes"}, SECRET_KEYS, 'elma365:haproxy.redispatch = "yes": must be true or false'),
    ({"healthCheck": {"fall": 0}}, SECRET_KEYS, "elma365:haproxy.healthCheck.fall = 0: must be a whole number between 1 and 100"),
    ({"healthCheck": {"path": "/x y"}}, SECRET_KEYS, 'elma365:haproxy.healthCheck.path = "/x y": must be a URL path'),
    ({"healthCheck": {"inter": "fast"}}, SECRET_KEYS, 'elma365:haproxy.healthCheck.inter = "fast": must be an HAProxy time'),
    ({"stats": {"bind": "127.0.0.1:8404", "user": "ops", "password": STATS_PASSWORD}}, SECRET_KEYS,
     "elma365:haproxy.stats.password = (plaintext): must be a secret: pulumi config set --secret --path elma365:haproxy.stats.password"),
    ({"stats": {"bind": "127.0.0.1:8404", "user": "ops", "password": "with space 123"}}, WITH_HAPROXY,
     "elma365:haproxy.stats.password = [secret]: must be 8 to 128 printable characters without spaces"),
    ({"stats": {"bind": "127.0.0.1:8404", "user": "ops"}}, WITH_HAPROXY, "elma365:haproxy.stats = \"{user, password}\": needs both"),
    ({"stats": {"user": "ops", "password": STATS_PASSWORD}}, WITH_HAPROXY,
     "elma365:haproxy.stats.bind = (missing): is required when haproxy.stats is set"),
    ({"stats": {"bind": "*:80", "user": "ops", "password": STATS_PASSWORD}}, WITH_HAPROXY,
     'elma365:haproxy.stats.bind = "*:80": must differ from haproxy.bind'),
    ({"tls": {"bind": "*:443"}}, WITH_HAPROXY, "elma365:haproxy.tls.certificate = (missing): is required when haproxy.tls is set"),
    ({"tls": {"certificate": "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n"}}, WITH_HAPROXY,
     "elma365:haproxy.tls.certificate = [secret]: must be a PEM holding the certificate"),
    ({"tls": {"certificate": "-----BEGIN CERTIFICATE-----\n-----BEGIN " + "PRIVATE KEY-----\n"}}, SECRET_KEYS,
     "elma365:haproxy.tls.certificate = (plaintext): must be a secret (it holds the private key)"),
    ({"tls": {"certificate": "x", "bind": "443"}}, WITH_HAPROXY, 'elma365:haproxy.tls.bind = "443": must be <address>:<port>'),
])
def test_bad_haproxy_settings_are_refused_with_their_own_message(haproxy, secret, message):
    found = refused(secret, **haproxy)
    assert any(message in f for f in found), found


def test_a_secret_haproxy_section_never_shows_a_secret_in_an_error():
    found = refused(WITH_HAPROXY, stats={"bind": "127.0.0.1:8404", "user": "ops", "password": "short$"},
                    tls={"certificate": "Sup3rSecretKeyMaterial"}, extra="Sup3rSecretToo")
    assert found and not any("short$" in f or "Sup3rSecret" in f for f in found), found


def test_defaults_when_only_the_manuals_keys_are_given():
    h = site().haproxy
    assert (h.timeouts.connect, h.timeouts.client, h.timeouts.server, h.timeouts.tunnel) == ("5s", "1m", "10m", "1h")
    assert (h.retries, h.redispatch, h.health_check.inter, h.health_check.fall, h.health_check.rise) == (3, True, "1s", 2, 2)
    assert h.stats is None and h.tls is None


# ---------------------------------------------------------------- the program: secrets only on stdin

def test_stats_password_and_certificate_reach_the_host_only_on_a_secret_stdin(pem):
    values = example()
    values["haproxy"]["stats"] = {"bind": "127.0.0.1:8404", "user": "ops", "password": STATS_PASSWORD}
    values["haproxy"]["tls"] = {"certificate": pem}
    deployed = run_program(values, WITH_HAPROXY, mocks=cluster_outputs())
    key_line = pem.splitlines()[-2]
    for c in deployed.commands:
        visible = " ".join(str(c.inputs.get(k, "")) for k in ("create", "update", "delete", "logging", "triggers"))
        assert STATS_PASSWORD not in visible and key_line not in visible, c.name
    apply = deployed.command("haproxy-config")
    assert apply.is_secret("stdin")
    assert f"stats auth ops:{STATS_PASSWORD}" in apply.inputs["stdin"] and key_line in apply.inputs["stdin"]
    cluster = next(r for r in deployed.registrations if r.type == "elma365:cluster:Elma365Cluster")
    assert STATS_PASSWORD not in str(cluster.inputs) and key_line not in str(cluster.inputs)


@pytest.mark.parametrize("reported,expected", [
    ("HA-Proxy version 1.8.19 2019/02/11", "option httpchk HEAD /"),
    ("HA-Proxy version 2.0.33 2023/10/31", "no option http-use-htx"),
    ("HAProxy version 3.0.5-1 2024/09/19", "http-check send meth HEAD uri /"),
])
def test_the_program_renders_for_the_version_the_host_reports(reported, expected):
    deployed = run_program(example(), SECRET_KEYS, mocks=cluster_outputs(haproxy_version=reported))
    assert expected in deployed.command("haproxy-config").inputs["stdin"]
