"""Local multi-node lab site for elma365-cluster.

Simulates N ELMA365 nodes (elma365-1..N on 127.0.0.11..) and an HAProxy host
(127.0.0.10) on one machine: one sshd per host on <address>:2222, each inside
its own mount namespace so that /opt, /usr/local/bin, /var/snap, /etc/haproxy,
/var/lib/elma365-cluster, /var/log/elma365-cluster and /run/haproxy are private
to the host (bind mounts of <lab>/nodes/<name>/...), the rest of the file
system being shared.

CLI (run from the repository root, as root):

    python3 -m lab.site up     [DIR] [--nodes N] [--no-haproxy] [--durations JSON|FILE] [--faults JSON|FILE] [--keep]
    python3 -m lab.site down   [DIR]
    python3 -m lab.site status [DIR]
    python3 -m lab.site stop-node  [DIR] NAME
    python3 -m lab.site start-node [DIR] NAME

DIR defaults to /tmp/elma365-lab.

API:

    from lab.site import LabSite
    site = LabSite("/tmp/elma365-lab")
    info = site.up(nodes=3, haproxy=True, durations={...}, faults={...})   # returns site.json dict
    site.stop_node("elma365-3"); site.start_node("elma365-3")
    site.state(); site.journal(); site.set_faults({...}); site.set_durations({...})
    site.down()
"""
import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIM_DIR = os.path.join(HERE, "sim")


def _sim_module(name):
    """A module of the simulator (lab/sim/, standard library only): the harness reads what the nodes read."""
    spec = importlib.util.spec_from_file_location("lab_" + name, os.path.join(SIM_DIR, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DATASTORE = _sim_module("datastore")
SIM = os.path.join(SIM_DIR, "elma365sim.py")
PYTHON = "/usr/bin/python3"
SSHD = "/usr/sbin/sshd"
SSH_PORT = 2222
WEB_PORT = 8080
# each node's datastore (lab/sim/datastore.py): dqlite on <address>:19001, its key/value API on :19080
DATASTORE_PORTS = [19001, 19080]
HAPROXY_NAME = "haproxy"
# ELMA365_LAB_NET=<n> moves a lab to 127.<n>.0.x, so that labs can run side by side.
LAB_NET = int(os.environ.get("ELMA365_LAB_NET", "0"))
HAPROXY_ADDRESS = "127.%d.0.10" % LAB_NET  # below the nodes (127.x.0.11 ...), so 12 nodes fit
MAX_NODES = 12
# /root too: each server has its own root home (and this machine's root shell profile, which
# bash reads for every SSH command, would otherwise add ~0.25 s to each lab command).
PRIVATE_DIRS = ["/opt", "/usr/local/bin", "/var/snap", "/etc/haproxy", "/root",
                "/var/lib/elma365-cluster", "/var/log/elma365-cluster", "/run/haproxy",
                "/etc/keepalived", "/run/keepalived", "/snap"]
# With two or more balancers (a virtual IP), the lab is a network of its own: a bridge in this
# machine's namespace carries the nodes' addresses (their sshd and web endpoints stay in this
# namespace), and each balancer is a network namespace with one veth on the bridge. Nothing is
# routed anywhere else.
BRIDGE_NET = "10.213.%d" % LAB_NET
BRIDGE = "e365br%d" % LAB_NET
BALANCER_INTERFACE = "eth0"   # inside each balancer's namespace
VIRTUAL_IP = BRIDGE_NET + ".100"
INSTALLER_PATH = "onPremise/master/latest/download"
DEFAULT_DIR = "/tmp/elma365-lab"

SUDO_SHIM = """#!/bin/sh
# lab shim: this host has no sudo; everything already runs as root.
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; break ;;
        -u|-g|-p|-C|-h|-U|-r|-t|-D) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: sudo command" >&2; exit 1; }
exec "$@"
"""


class LabError(RuntimeError):
    pass


def node_name(i):
    return "elma365-%d" % i


def node_address(i):
    return "127.%d.0.%d" % (LAB_NET, 10 + i)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # zombies count as dead
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _mnt_ns(pid):
    try:
        return os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return None


def _port_free(address, port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _load_json_arg(value):
    if value is None:
        return None
    if os.path.exists(value):
        with open(value) as f:
            return json.load(f)
    return json.loads(value)


class LabSite:
    def __init__(self, lab_dir=DEFAULT_DIR):
        self.dir = os.path.abspath(lab_dir)
        self.keys = os.path.join(self.dir, "keys")
        self.state_dir = os.path.join(self.dir, "state")
        self.nodes_dir = os.path.join(self.dir, "nodes")
        self.run = os.path.join(self.dir, "run")
        self.www = os.path.join(self.dir, "www")
        self.site_json = os.path.join(self.dir, "site.json")
        self.private_key = os.path.join(self.keys, "id_ed25519")
        self.known_hosts = os.path.join(self.keys, "known_hosts")

    # ------------------------------------------------------------------
    # description
    # ------------------------------------------------------------------
    def info(self):
        """The site.json contents (None when the lab was never brought up)."""
        try:
            with open(self.site_json) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def hosts(self):
        info = self.info() or {}
        hosts = list(info.get("nodes") or [])
        if info.get("haproxy"):
            hosts.append(info["haproxy"])
        return hosts + list(info.get("balancers") or [])

    def _host(self, name):
        for h in self._layout_hosts():
            if h["name"] == name:
                return h
        raise LabError("unknown lab host %r" % name)

    def _layout_hosts(self):
        """Hosts from site.json, or from the layout file written early in up()."""
        path = os.path.join(self.run, "layout.json")
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return self.hosts()

    # ------------------------------------------------------------------
    # state helpers for the runner / tests
    # ------------------------------------------------------------------
    def state(self):
        try:
            with open(os.path.join(self.state_dir, "cluster.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def journal(self):
        out = []
        try:
            with open(os.path.join(self.state_dir, "journal.jsonl")) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        out.append(json.loads(line))
        except OSError:
            pass
        return out

    def _write_json(self, path, data):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)

    def set_durations(self, durations):
        self._write_json(os.path.join(self.state_dir, "durations.json"), dict(durations or {}))

    def set_faults(self, faults):
        self._write_json(os.path.join(self.state_dir, "faults.json"), dict(faults or {}))

    def set_certificate_days(self, days):
        """The days the simulated MicroK8s signs each node's new certificates for when it installs
        or joins ({node: {"server.crt": 20, "front-proxy-client.crt": -1}}; -1: ended a day ago);
        365 where not given, as MicroK8s. `refresh-certs -e` always signs for 365."""
        self._write_json(os.path.join(self.state_dir, "certificates.json"), dict(days or {}))

    def sign_certificate(self, name, cert, days):
        """Re-sign node `name`'s server.crt or front-proxy-client.crt now, for `days` (-1: ended),
        from its own CA, as MicroK8s' gen_server_cert does (the simulator's code)."""
        import importlib.util
        spec = importlib.util.spec_from_file_location("elma365sim", SIM)
        sim = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sim)
        sim.sign(cert, days, certs=self.certs_dir(name))

    def certs_dir(self, name):
        """Node `name`'s MicroK8s certificates, as seen from outside its namespace."""
        return os.path.join(self.nodes_dir, name) + "/var/snap/microk8s/current/certs"

    def _change_state(self, change):
        """`change(state)` under the simulator's state lock, saved."""
        import fcntl
        fd = os.open(os.path.join(self.state_dir, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            st = self.state()
            change(st)
            self._write_json(os.path.join(self.state_dir, "cluster.json"), st)
        finally:
            os.close(fd)

    def set_web(self, name, up):
        """Marks one node's ELMA365 up or down in the simulator state (no ssh): its web endpoint
        (web.py) opens or closes <address>:8080 within ~0.1 s. Under the simulator's state lock."""
        self._change_state(lambda st: st.setdefault("nodes", {}).setdefault(name, {}).__setitem__("up", bool(up)))

    def _dqlite(self):
        """The cluster's real dqlite (lab/sim/datastore.py), asked from outside every node: through
        each member's endpoint, as a client that knows no cluster.yaml."""
        ds = DATASTORE
        st = self.state()
        addresses = [st["addresses"][m] for m in st.get("members", []) if m in st.get("addresses", {})]
        if not addresses:
            raise RuntimeError("lab: no datastore member yet (nothing installed)")
        return ds.Datastore(addresses[0], servers=",".join(ds.endpoint(a) for a in addresses))

    def datastore(self):
        """The cluster's Kubernetes datastore entries (what `microk8s dbctl` backs up and restores)."""
        rows = self._dqlite().dump()
        if rows is None:
            raise RuntimeError("lab: the datastore does not answer (no dqlite leader)")
        return rows

    def put_datastore(self, key, value):
        """One datastore entry written, as an API server write would (a lab stand-in for kubectl apply)."""
        if not self._dqlite().put(key, value):
            raise RuntimeError("lab: the datastore does not answer (no dqlite leader)")

    # ------------------------------------------------------------------
    # up
    # ------------------------------------------------------------------
    def up(self, nodes=3, haproxy=True, durations=None, faults=None, fresh=True, timeout=15.0, session_path=None,
           balancers=0):
        """`session_path`: the PATH every SSH session on the lab's hosts starts with (sshd SetEnv),
        e.g. "/usr/bin:/bin", which lacks the folders the tools live in, as some servers' do.
        `balancers` >= 2: that many HAProxy hosts (haproxy-1, ...) in network namespaces on a bridge
        with the nodes, for a virtual IP (BRIDGE_NET); `haproxy` is then ignored."""
        self.balancers = int(balancers)
        self.session_path = session_path
        if os.geteuid() != 0:
            raise LabError("the lab must be run as root (mount namespaces, sshd)")
        if not 1 <= int(nodes) <= MAX_NODES:
            raise LabError("nodes must be between 1 and %d" % MAX_NODES)
        for tool in (SSHD, shutil.which("unshare"), shutil.which("ssh-keygen"), PYTHON, "/usr/bin/dqlite-demo",
                     "/usr/bin/dqlite"):
            if not tool or not os.path.exists(tool):
                raise LabError("missing tool %s: run lab/setup.sh" % tool)
        if (haproxy or balancers) and not shutil.which("haproxy"):
            raise LabError("haproxy is not installed: run lab/setup.sh")
        if balancers and not shutil.which("keepalived"):
            raise LabError("keepalived is not installed: run lab/setup.sh")
        if balancers and not 2 <= int(balancers) <= 5:
            raise LabError("balancers must be between 2 and 5")
        self.down()
        try:
            return self._up(int(nodes), haproxy, durations, faults, fresh, timeout)
        except BaseException:
            self.down()
            raise

    def _up(self, n, haproxy, durations, faults, fresh, timeout):
        if fresh:
            for d in (self.keys, self.state_dir, self.nodes_dir, self.run, self.www):
                shutil.rmtree(d, ignore_errors=True)
            if os.path.exists(self.site_json):
                os.unlink(self.site_json)
        for d in (self.dir, self.keys, self.state_dir, self.nodes_dir, self.run, self.www):
            os.makedirs(d, exist_ok=True)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)

        bridged = self.balancers >= 2
        cluster = [{"name": node_name(i), "address": "%s.%d" % (BRIDGE_NET, 10 + i) if bridged else node_address(i),
                    "port": SSH_PORT, "role": "node"} for i in range(1, n + 1)]
        hosts = list(cluster)
        balancers = [{"name": "haproxy-%d" % k, "address": "%s.%d" % (BRIDGE_NET, 4 + k), "port": SSH_PORT,
                      "role": "haproxy", "netns": "e365lb%d-%d" % (LAB_NET, k)} for k in range(1, self.balancers + 1)]
        if bridged:
            hosts += balancers
            self._net_up(cluster, balancers)
        elif haproxy:
            hosts.append({"name": HAPROXY_NAME, "address": HAPROXY_ADDRESS, "port": SSH_PORT, "role": "haproxy"})
        self._write_json(os.path.join(self.run, "layout.json"), hosts)
        busy = [(h["address"], p) for h in hosts if not h.get("netns")   # a new namespace has nothing bound
                for p in ([SSH_PORT, WEB_PORT] + DATASTORE_PORTS if h["role"] == "node" else [SSH_PORT])
                if not _port_free(h["address"], p)]
        if busy:
            raise LabError("address(es) already in use (another lab running?): %s"
                           % ", ".join("%s:%d" % b for b in busy))

        # keys
        if not os.path.exists(self.private_key):
            self._keygen(self.private_key, "elma365-lab-client")
        os.chmod(self.private_key, 0o600)
        for h in hosts:
            hk = os.path.join(self.keys, "ssh_host_ed25519_key_%s" % h["name"])
            if not os.path.exists(hk):
                self._keygen(hk, "root@%s" % h["name"])
            with open(hk + ".pub") as f:
                h["hostKey"] = " ".join(f.read().split()[:2])
        with open(self.known_hosts, "w") as f:
            for h in hosts:
                f.write("[%s]:%d %s\n" % (h["address"], h["port"], h["hostKey"]))

        # shared simulated-cluster state
        for name, default in (("cluster.json", {}), ("durations.json", {}), ("faults.json", {})):
            p = os.path.join(self.state_dir, name)
            if fresh or not os.path.exists(p):
                self._write_json(p, default)
        for name in ("lock", "journal.jsonl"):
            p = os.path.join(self.state_dir, name)
            if fresh or not os.path.exists(p):
                open(p, "w").close()
        if durations is not None:
            self.set_durations(durations)
        if faults is not None:
            self.set_faults(faults)

        # per-host private directories
        for h in hosts:
            root = os.path.join(self.nodes_dir, h["name"])
            for d in PRIVATE_DIRS:
                os.makedirs(root + d, exist_ok=True)
            bindir = root + "/usr/local/bin"
            with open(os.path.join(bindir, ".elma365-lab-node.json"), "w") as f:
                json.dump({"node": h["name"], "address": h["address"], "state": self.state_dir, "sim": SIM_DIR}, f)
            if not os.path.exists("/usr/bin/sudo"):
                self._install(os.path.join(bindir, "sudo"), text=SUDO_SHIM)
            if h["role"] == "node":
                for tool in ("snap", "elma365ctl"):
                    self._install(os.path.join(bindir, tool), src=SIM)
            else:
                for tool in ("lab-haproxy-reload", "lab-keepalived-reload"):
                    self._install(os.path.join(bindir, tool), src=os.path.join(SIM_DIR, tool))

        # installer download
        dl = os.path.join(self.www, INSTALLER_PATH)
        os.makedirs(os.path.dirname(dl), exist_ok=True)
        self._install(dl, src=SIM)

        # processes
        port = self._start_httpd(timeout)
        for h in cluster:
            self._spawn("web-%s" % h["name"],
                        [PYTHON, os.path.join(SIM_DIR, "web.py"), h["name"], h["address"], str(WEB_PORT),
                         self.state_dir])
        for h in hosts:
            self._start_sshd(h, wait=False)
        deadline = time.time() + timeout
        for h in hosts:
            self._wait_sshd(h, deadline)
        if not fresh:
            for h in cluster:
                self._boot(h["name"])

        info = {
            "nodes": [{"name": h["name"], "address": h["address"], "port": h["port"], "hostKey": h["hostKey"]}
                      for h in cluster],
            "haproxy": ({"name": HAPROXY_NAME, "address": HAPROXY_ADDRESS, "port": SSH_PORT,
                         "hostKey": hosts[-1]["hostKey"]} if haproxy and not bridged else None),
            "balancers": [{k: h[k] for k in ("name", "address", "port", "hostKey", "netns")} for h in balancers],
            "virtualIp": VIRTUAL_IP if bridged else None,
            "vrrpInterface": BALANCER_INTERFACE if bridged else None,
            "privateKeyPath": self.private_key,
            "publicKeyPath": self.private_key + ".pub",
            "knownHostsPath": self.known_hosts,
            "user": "root",
            "installerUrl": "http://127.0.0.1:%d/%s" % (port, INSTALLER_PATH),
            "webPort": WEB_PORT,
            "stateDir": self.state_dir,
            "labDir": self.dir,
        }
        self._write_json(self.site_json, info)
        return info

    @staticmethod
    def _keygen(path, comment):
        for p in (path, path + ".pub"):
            if os.path.exists(p):
                os.unlink(p)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                       check=True, stdout=subprocess.DEVNULL)

    @staticmethod
    def _install(dst, src=None, text=None):
        tmp = dst + ".tmp"
        if src:
            shutil.copyfile(src, tmp)
        else:
            with open(tmp, "w") as f:
                f.write(text)
        os.chmod(tmp, 0o755)
        os.replace(tmp, dst)

    def _pidfile(self, key):
        return os.path.join(self.run, "%s.pid" % key)

    def _spawn(self, key, argv, log=None):
        log = log or os.path.join(self.run, "%s.log" % key)
        with open(log, "ab") as lf:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                                 start_new_session=True, close_fds=True)
        with open(self._pidfile(key), "w") as f:
            f.write("%d\n" % p.pid)
        self._children = getattr(self, "_children", {})
        self._children[p.pid] = p
        return p

    def _start_httpd(self, timeout):
        port_file = os.path.join(self.run, "httpd.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        p = self._spawn("httpd", [PYTHON, os.path.join(SIM_DIR, "httpd.py"), self.www, port_file])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    return int(f.read().strip())
            if p.poll() is not None:
                break
            time.sleep(0.05)
        raise LabError("installer HTTP server did not start, see %s" % os.path.join(self.run, "httpd.log"))

    def _sshd_config(self, h):
        name = h["name"]
        conf = os.path.join(self.run, "sshd-%s.conf" % name)
        lines = [
            "# sshd for lab host %s" % name,
            "Port %d" % h["port"],
            "ListenAddress %s" % h["address"],
            "HostKey %s" % os.path.join(self.keys, "ssh_host_ed25519_key_%s" % name),
            "PidFile %s" % os.path.join(self.run, "sshd-%s.sshd-pid" % name),
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            # the lab's client key for every host, and each host's own root ~/.ssh/authorized_keys
            # (sshd's default; /root is private per host) for what the program authorizes there
            "AuthorizedKeysFile %s .ssh/authorized_keys" % (self.private_key + ".pub"),
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PrintMotd no",
            "PrintLastLog no",
            "MaxStartups 100:30:200",
            "MaxSessions 100",
            "LogLevel INFO",
            'SetEnv "ELMA365_LAB_NODE=%s" "ELMA365_LAB_ADDRESS=%s" "ELMA365_LAB_STATE=%s"%s'
            % (name, h["address"], self.state_dir,
               ' "PATH=%s"' % self.session_path if getattr(self, "session_path", None) else ""),
            "Subsystem sftp internal-sftp",
        ]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def _start_sshd(self, h, wait=True):
        name = h["name"]
        conf = self._sshd_config(h)
        log = os.path.join(self.run, "sshd-%s.log" % name)
        root = os.path.join(self.nodes_dir, name)
        script = ["set -e"]
        for d in PRIVATE_DIRS:
            script.append("mkdir -p '%s' '%s%s'" % (d, root, d))
            script.append("mount --bind '%s%s' '%s'" % (root, d, d))
        script += self._own_host_files(h, root)
        script.append("exec %s -D -f '%s' -E '%s'" % (SSHD, conf, log))
        subprocess.run([SSHD, "-t", "-f", conf], check=True)
        argv = ["unshare", "--mount", "--uts", "--propagation", "private", "/bin/sh", "-c", "\n".join(script)]
        if h.get("netns"):
            argv = ["ip", "netns", "exec", h["netns"]] + argv
        self._spawn("sshd-%s" % name, argv, log=log)
        if wait:
            self._wait_sshd(h, time.time() + 15)

    def _own_host_files(self, h, root):
        """What a real server has of its own (the preflight checks read it): its hostname (own UTS
        namespace), an /etc/hosts that resolves the lab's hosts, the OS the lab stands for (Ubuntu
        22.04, whatever this machine runs), and a fake /proc/meminfo once fake_meminfo() set one."""
        etc = os.path.join(root, "lab-etc")
        os.makedirs(etc, exist_ok=True)
        try:
            with open("/etc/hosts") as f:
                hosts = f.read()
        except OSError:
            hosts = "127.0.0.1 localhost\n"
        hosts += "".join("%s %s\n" % (x["address"], x["name"]) for x in self._layout_hosts())
        with open(os.path.join(etc, "hosts"), "w") as f:
            f.write(hosts)
        with open(os.path.join(etc, "os-release"), "w") as f:
            f.write('NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04 (elma365 lab)"\n')
        script = ["hostname '%s'" % h["name"],
                  "mount --bind '%s/hosts' /etc/hosts" % etc,
                  "mount --bind '%s/os-release' /etc/os-release" % etc]
        if os.path.exists(os.path.join(etc, "meminfo")):
            script.append("mount --bind '%s/meminfo' /proc/meminfo" % etc)
        return script

    def fake_meminfo(self, name, mib):
        """Lab fault: host `name` reports `mib` MiB of memory (a fake /proc/meminfo bind-mounted in its
        namespace, now and after a restart of the host)."""
        h = self._host(name)
        etc = os.path.join(self.nodes_dir, name, "lab-etc")
        os.makedirs(etc, exist_ok=True)
        path = os.path.join(etc, "meminfo")
        with open(path, "w") as f:
            f.write("MemTotal:       %8d kB\nMemFree:        %8d kB\nMemAvailable:   %8d kB\n"
                    % (mib * 1024, mib * 512, mib * 768))
        pid = self._read_pid("sshd-%s" % h["name"])
        if pid and _pid_alive(pid):
            subprocess.run(["nsenter", "--mount", "--target", str(pid), "mount", "--bind", path, "/proc/meminfo"],
                           check=True)

    def _wait_sshd(self, h, deadline):
        key = "sshd-%s" % h["name"]
        pid = self._read_pid(key)
        while time.time() < deadline:
            if pid is None or not _pid_alive(pid):
                break
            if DATASTORE.listening(h["address"], h["port"]):
                ns = _mnt_ns(pid)
                if ns and ns != _mnt_ns(os.getpid()):
                    with open(os.path.join(self.run, "%s.ns" % key), "w") as f:
                        f.write(ns + "\n")
                    return
            time.sleep(0.05)
        log = os.path.join(self.run, "sshd-%s.log" % h["name"])
        tail = ""
        try:
            with open(log) as f:
                tail = "".join(f.readlines()[-10:])
        except OSError:
            pass
        raise LabError("sshd for %s did not come up on %s:%d\n%s" % (h["name"], h["address"], h["port"], tail))

    # ------------------------------------------------------------------
    # the bridged network (balancers with a virtual IP)
    # ------------------------------------------------------------------
    def _net_up(self, cluster, balancers):
        self._net_down()
        route = subprocess.run(["ip", "-o", "route", "show", BRIDGE_NET + ".0/24"], capture_output=True, text=True)
        if route.stdout.strip():
            raise LabError("%s.0/24 is already routed on this machine (%s): set ELMA365_LAB_NET to another number"
                           % (BRIDGE_NET, route.stdout.strip()))
        self._write_json(os.path.join(self.run, "net.json"),
                         {"bridge": BRIDGE, "netns": [b["netns"] for b in balancers]})
        ip = ["ip"]
        cmds = [ip + ["link", "add", BRIDGE, "type", "bridge"],
                ip + ["addr", "add", BRIDGE_NET + ".1/24", "dev", BRIDGE],
                ip + ["link", "set", BRIDGE, "up"]]
        cmds += [ip + ["addr", "add", h["address"] + "/32", "dev", BRIDGE] for h in cluster]
        for k, b in enumerate(balancers, 1):
            outside = self._veth(b["name"])
            cmds += [ip + ["netns", "add", b["netns"]],
                     ip + ["link", "add", outside, "type", "veth", "peer", "name", BALANCER_INTERFACE,
                           "netns", b["netns"]],
                     ip + ["link", "set", outside, "master", BRIDGE, "up"],
                     ip + ["-n", b["netns"], "addr", "add", b["address"] + "/24", "dev", BALANCER_INTERFACE],
                     ip + ["-n", b["netns"], "link", "set", BALANCER_INTERFACE, "up"],
                     ip + ["-n", b["netns"], "link", "set", "lo", "up"]]
            b["veth"] = outside
        for cmd in cmds:
            subprocess.run(cmd, check=True, capture_output=True)

    def _net_down(self):
        try:
            with open(os.path.join(self.run, "net.json")) as f:
                net = json.load(f)
        except (OSError, ValueError):
            return
        for ns in net.get("netns", []):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", net["bridge"]], capture_output=True)
        os.unlink(os.path.join(self.run, "net.json"))

    def balancer(self, name):
        for b in (self.info() or {}).get("balancers") or []:
            if b["name"] == name:
                return b
        raise LabError("unknown lab balancer %r" % name)

    def holder(self, address=VIRTUAL_IP):
        """The balancer whose interface has the virtual IP now (None: nobody has it). A balancer
        cut off counts as nobody: a dead host holds nothing, whatever its last state was."""
        for b in (self.info() or {}).get("balancers") or []:
            if not self._link_up(b["name"]):
                continue
            out = subprocess.run(["ip", "-n", b["netns"], "-o", "addr", "show", "dev", BALANCER_INTERFACE],
                                 capture_output=True, text=True).stdout
            if " %s/" % address in out:
                return b["name"]
        return None

    @staticmethod
    def _veth(name):
        return "e365v%db%s" % (LAB_NET, name.rsplit("-", 1)[1])

    def _link_up(self, name):
        try:
            with open("/sys/class/net/%s/flags" % self._veth(name)) as f:
                return bool(int(f.read().strip(), 16) & 0x1)   # IFF_UP
        except (OSError, ValueError):
            return False

    def cut_off(self, name):
        """Lab fault: balancer `name` dies as a host does: its link goes down and every process it
        runs (sshd, HAProxy, keepalived) is killed, without a word to its peers."""
        self.balancer(name)
        subprocess.run(["ip", "link", "set", self._veth(name), "down"], check=True)
        self._stop("sshd-%s" % name)

    def boot(self, name, address=VIRTUAL_IP):
        """Balancer `name` starts again as a rebooted host: no address but its own, link up, sshd,
        then its services (HAProxy, keepalived) from the config they have on disk."""
        b = self.balancer(name)
        subprocess.run(["ip", "-n", b["netns"], "addr", "del", address + "/32", "dev", BALANCER_INTERFACE],
                       capture_output=True)
        subprocess.run(["ip", "link", "set", self._veth(name), "up"], check=True)
        self.start_node(name)
        self.on_host(name, "lab-haproxy-reload && lab-keepalived-reload")

    def auto_refresh(self, name):
        """What snapd's refresh timer does on node `name` on its own (lab/sim/snapd): MicroK8s refreshed
        within its channel unless refreshes are held there. Returns its output."""
        return self.on_host(name, "'%s' auto-refresh" % os.path.join(SIM_DIR, "snapd"))

    def on_host(self, name, command):
        """`command` in the host's own namespaces (as its services would run), not over SSH."""
        pid = self._read_pid("sshd-%s" % name)
        if not pid or not _pid_alive(pid):
            raise LabError("%s is not running" % name)
        return subprocess.run(["nsenter", "--target", str(pid), "--mount", "--uts", "--net", "/bin/bash", "-c",
                               'PATH="/usr/local/bin:$PATH"; ' + command],
                              check=True, capture_output=True, text=True).stdout

    # ------------------------------------------------------------------
    # stop
    # ------------------------------------------------------------------
    def _read_pid(self, key):
        try:
            with open(self._pidfile(key)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _ours(self, pid):
        """Only signal processes whose command line references this lab."""
        return self.dir in _cmdline(pid) or SIM_DIR in _cmdline(pid)

    def _stop(self, key):
        pid = self._read_pid(key)
        ns_file = os.path.join(self.run, "%s.ns" % key)
        ns = None
        try:
            with open(ns_file) as f:
                ns = f.read().strip() or None
        except OSError:
            pass
        victims = []
        if pid and _pid_alive(pid) and self._ours(pid):
            victims.append(pid)
            live_ns = _mnt_ns(pid)
            if live_ns and live_ns != _mnt_ns(os.getpid()):
                ns = live_ns
        if ns and ns != _mnt_ns(os.getpid()):
            # every process living in the host's private mount namespace
            # (ssh sessions, the haproxy daemon, ...)
            for entry in os.listdir("/proc"):
                if entry.isdigit() and int(entry) not in victims and int(entry) != os.getpid():
                    if _mnt_ns(int(entry)) == ns:
                        victims.append(int(entry))
        for v in victims:
            if _cmdline(v).startswith("/usr/bin/dqlite-demo "):
                try:
                    os.kill(v, signal.SIGKILL)   # a datastore dies as on a power loss (without a quorum it ignores SIGTERM)
                except ProcessLookupError:
                    pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for v in victims:
                try:
                    os.kill(v, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 3
            while time.time() < deadline:
                self._reap()
                if not any(_pid_alive(v) for v in victims):
                    break
                time.sleep(0.05)
            else:
                continue
            break
        self._reap()
        for p in (self._pidfile(key), ns_file):
            if os.path.exists(p):
                os.unlink(p)

    def _reap(self):
        for pid, p in list(getattr(self, "_children", {}).items()):
            if p.poll() is not None:
                del self._children[pid]

    def down(self):
        """Stops everything this lab started.  Safe to call repeatedly."""
        if not os.path.isdir(self.run):
            return
        keys = [f[:-4] for f in os.listdir(self.run) if f.endswith(".pid")]
        # sshd first (so no new session starts), then web endpoints, then httpd
        order = sorted(keys, key=lambda k: (0 if k.startswith("sshd-") else 1 if k.startswith("web-") else 2, k))
        for key in order:
            self._stop(key)
        self._net_down()

    def stop_node(self, name):
        """Stops the sshd of one host (and its sessions): the host becomes unreachable."""
        self._host(name)
        self._stop("sshd-%s" % name)

    def start_node(self, name):
        h = self._host(name)
        pid = self._read_pid("sshd-%s" % name)
        if pid and _pid_alive(pid) and self._ours(pid):
            return
        self._start_sshd(h, wait=True)
        if h["role"] == "node":
            self._boot(name)

    def _boot(self, name):
        """What the node's init starts at boot: the snaps' services (MicroK8s' datastore)."""
        self.on_host(name, "'%s' boot >/dev/null" % os.path.join(SIM_DIR, "snapd"))

    # ------------------------------------------------------------------
    def status(self):
        out = {"labDir": self.dir, "processes": {}, "site": self.info()}
        if os.path.isdir(self.run):
            for f in sorted(os.listdir(self.run)):
                if f.endswith(".pid"):
                    key = f[:-4]
                    pid = self._read_pid(key)
                    out["processes"][key] = {"pid": pid,
                                             "running": bool(pid and _pid_alive(pid) and self._ours(pid))}
        st = self.state()
        out["cluster"] = {k: st.get(k) for k in ("installed", "main", "members", "left", "settings",
                                                 "hamodeUpdated", "restarts")} if st else {}
        out["cluster"]["up"] = {n: v.get("up") for n, v in (st.get("nodes") or {}).items()} if st else {}
        return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m lab.site", description="ELMA365 cluster lab site")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="bring the lab up (fresh state unless --keep)")
    p.add_argument("dir", nargs="?", default=DEFAULT_DIR)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--no-haproxy", action="store_true")
    p.add_argument("--balancers", type=int, default=0, help="N >= 2: N HAProxy hosts with a virtual IP")
    p.add_argument("--durations", help="JSON object or file with step durations")
    p.add_argument("--faults", help="JSON object or file with faults")
    p.add_argument("--keep", action="store_true", help="keep keys, state and node directories")
    for c in ("down", "status"):
        p = sub.add_parser(c)
        p.add_argument("dir", nargs="?", default=DEFAULT_DIR)
    for c in ("stop-node", "start-node"):
        p = sub.add_parser(c)
        p.add_argument("args", nargs="+", metavar="[DIR] NAME")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "up":
            info = LabSite(a.dir).up(nodes=a.nodes, haproxy=not a.no_haproxy, balancers=a.balancers,
                                     durations=_load_json_arg(a.durations), faults=_load_json_arg(a.faults),
                                     fresh=not a.keep)
            print(json.dumps(info, indent=2))
        elif a.cmd == "down":
            LabSite(a.dir).down()
        elif a.cmd == "status":
            print(json.dumps(LabSite(a.dir).status(), indent=2, sort_keys=True))
        else:
            if len(a.args) > 2:
                ap.error("too many arguments")
            d, name = (a.args if len(a.args) == 2 else (DEFAULT_DIR, a.args[0]))
            site = LabSite(d)
            site.stop_node(name) if a.cmd == "stop-node" else site.start_node(name)
    except (LabError, subprocess.CalledProcessError) as e:
        print("lab.site: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
