#!/usr/bin/python3 -S
"""Simulated ELMA365 On-Premises toolchain for the local lab.

One self-contained file (standard library only) that behaves as a different
tool depending on the name it is invoked under:

  elma365ctl            add-node | scale | reconfigure | update-hamode | restart | status
  microk8s              join | status | leave | remove-node | stop | start | version
                        | dbctl backup [-o FILE] | dbctl restore FILE
                        | kubectl get node[s] | kubectl get pods | kubectl drain | cordon | uncordon
  snap                  install microk8s --classic --channel=... | refresh [microk8s] [--channel=...]
                        | refresh --hold[=<duration>] | --unhold [microk8s] | list | version
                        | get | set | unset system <option>
  snapd                 auto-refresh (lab only: what snapd's refresh timer does)
  anything else         the ELMA365 installer (elma365-installer.sh -e <edition>)

The cluster state lives in $ELMA365_LAB_STATE/cluster.json, guarded by an
flock on $ELMA365_LAB_STATE/lock (held only for read-modify-write, never while
sleeping).  Every invocation appends one JSON line to journal.jsonl.

Node identity comes from ELMA365_LAB_NODE / ELMA365_LAB_ADDRESS /
ELMA365_LAB_STATE (set by the lab's sshd via SetEnv) or, as a fallback (e.g.
when the environment was scrubbed), from /usr/local/bin/.elma365-lab-node.json
which lives in the node's private /usr/local/bin.
"""
import fcntl
import json
import os
import re
import signal
import sys
import time


def process_start_time():
    """When this process was started (not when its imports finished): a tool's duration includes
    its start. /proc gives the start in clock ticks since boot (10 ms resolution)."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - age if 0 <= age < 5 else time.time()
    except (OSError, ValueError, IndexError):
        return time.time()


def copy_self(dst):
    """This simulator as the tool `dst`, replaced at once (a tool starting meanwhile reads either)."""
    import shutil  # imported here: every call of the simulated tools pays for its imports
    tmp = "%s.%d.tmp" % (dst, os.getpid())
    shutil.copy(SELF, tmp)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dst)

UNREACHABLE_ADDRESS = "10.0.2.15"
BIN_DIR = "/usr/local/bin"
BACKEND = "/var/snap/microk8s/current/var/kubernetes/backend"
IDENTITY_FILE = os.path.join(BIN_DIR, ".elma365-lab-node.json")
EXTERNAL_SERVICES = ["PostgreSQL", "MongoDB", "S3", "Redis", "RabbitMQ"]
SELF = os.path.realpath(__file__)


class Fail(Exception):
    """Error reported to the user: message on stderr, exit code."""

    def __init__(self, message, rc=1):
        super().__init__(message)
        self.message = message
        self.rc = rc


# --------------------------------------------------------------------------
# identity, state, journal
# --------------------------------------------------------------------------

def identity():
    ident = {}
    try:
        with open(IDENTITY_FILE) as f:
            ident = json.load(f)
    except (OSError, ValueError):
        pass
    node = os.environ.get("ELMA365_LAB_NODE") or ident.get("node")
    address = os.environ.get("ELMA365_LAB_ADDRESS") or ident.get("address")
    state = os.environ.get("ELMA365_LAB_STATE") or ident.get("state")
    if not (node and address and state):
        raise Fail("elma365 lab: cannot determine the lab node (ELMA365_LAB_NODE/ADDRESS/STATE unset "
                   "and %s missing)" % IDENTITY_FILE)
    return node, address, state


def sim_dir():
    """The lab's lab/sim folder: where this file is, or (a copy installed as a node's tool) where
    the node's identity file says."""
    here = os.path.dirname(SELF)
    if os.path.exists(os.path.join(here, "datastore.py")):
        return here
    try:
        with open(IDENTITY_FILE) as f:
            return json.load(f)["sim"]
    except (OSError, ValueError, KeyError):
        raise Fail("elma365 lab: cannot find the lab's datastore module (no \"sim\" in %s)" % IDENTITY_FILE)


class Lab:
    def __init__(self):
        self.node, self.address, self.state_dir = identity()
        self._lock_fd = None
        self._datastore = None

    @property
    def datastore(self):
        """This node's dqlite (lab/sim/datastore.py), imported on first use: most calls need none."""
        if self._datastore is None:
            sys.path.insert(0, sim_dir())
            import datastore
            self._datastore = datastore.Datastore(self.address)
        return self._datastore

    # -- files ------------------------------------------------------------
    def path(self, name):
        return os.path.join(self.state_dir, name)

    def _read_json(self, name, default):
        try:
            with open(self.path(name)) as f:
                data = json.load(f)
            return data if data is not None else default
        except FileNotFoundError:
            return default
        except ValueError:
            return default

    def _write_json(self, name, data):
        tmp = self.path(".%s.%d.tmp" % (name, os.getpid()))
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path(name))

    def duration(self, key, default=0.0):
        d = self._read_json("durations.json", {})
        try:
            return float(d.get(key, default))
        except (TypeError, ValueError):
            return default

    def sleep(self, key, default=0.0):
        s = self.duration(key, default)
        if s > 0:
            time.sleep(s)

    def faults(self):
        return self._read_json("faults.json", {})

    def set_faults(self, faults):
        self._write_json("faults.json", faults)

    # -- locking ----------------------------------------------------------
    def __enter__(self):
        self._lock_fd = os.open(self.path("lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self.load()

    def __exit__(self, *exc):
        os.close(self._lock_fd)
        self._lock_fd = None
        return False

    def load(self):
        st = self._read_json("cluster.json", {})
        st.setdefault("installed", False)
        st.setdefault("main", None)
        st.setdefault("members", [])
        st.setdefault("workers", [])
        st.setdefault("left", [])
        st.setdefault("addresses", {})
        st.setdefault("nodes", {})
        st.setdefault("settings", {})
        st.setdefault("replicas", {})
        st.setdefault("tokens", {})
        st.setdefault("joining", None)
        st.setdefault("updatingHamode", None)
        st.setdefault("hamodeUpdated", [])
        st.setdefault("restarts", 0)
        return st

    def save(self, st):
        self._write_json("cluster.json", st)

    def node_state(self, st, name=None):
        name = name or self.node
        return st["nodes"].setdefault(name, {"up": False})

    def journal(self, entry):
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        fd = os.open(self.path("journal.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            lk = os.open(self.path("lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(lk, fcntl.LOCK_EX)
                os.write(fd, line)
            finally:
                os.close(lk)
        finally:
            os.close(fd)


def pid_alive(pid):
    try:
        os.kill(int(pid), 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (TypeError, ValueError):
        return False


def live_marker(marker):
    """A marker {node, pid, since} counts only while its process is alive."""
    return bool(marker) and pid_alive(marker.get("pid"))


def redact(argv):
    out = []
    for a in argv:
        if re.search(r"[0-9a-fA-F]{32}", a) or re.search(r":25000/", a):
            out.append("<redacted>")
        else:
            out.append(a)
    return out


# --------------------------------------------------------------------------
# interactive helpers
# --------------------------------------------------------------------------

def require_tty(what):
    if not os.isatty(0):
        raise Fail("%s: the %s is interactive and must be run in a terminal (stdin is not a tty)"
                   % (what, "installer" if what == "elma365-installer" else "command"))


def ask(prompt):
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if line == "":
        raise Fail("\nerror: unexpected end of input while waiting for an answer to %r" % prompt.strip())
    return line.strip()


def ask_yes_no(prompt, default):
    ans = ask(prompt).lower()
    if ans == "":
        return default
    if ans in ("y", "yes"):
        return True
    if ans in ("n", "no"):
        return False
    raise Fail("error: invalid answer %r to %r (expected y or n)" % (ans, prompt.strip()))


def ask_int(prompt, minimum=None, maximum=None):
    ans = ask(prompt)
    if not re.fullmatch(r"\d+", ans):
        raise Fail("error: %r is not a valid number (%s)" % (ans, prompt.strip()))
    v = int(ans)
    if minimum is not None and v < minimum:
        raise Fail("error: %d is less than the minimum %d (%s)" % (v, minimum, prompt.strip()))
    if maximum is not None and v > maximum:
        raise Fail("error: %d is greater than the maximum %d (%s)" % (v, maximum, prompt.strip()))
    return v


def ask_connection_strings(given=None):
    """Returns the list of services configured as external (names only); `given` (a dict) gets the
    connection strings themselves."""
    external = []
    if ask_yes_no("Use custom connection string? [y/N]: ", False):
        for svc in EXTERNAL_SERVICES:
            if ask_yes_no("Use external %s? [y/N]: " % svc, False):
                cs = ask("%s connection string: " % svc)
                if not cs:
                    raise Fail("error: empty %s connection string" % svc)
                external.append(svc)
                if given is not None:
                    given[svc] = cs
    return external


def ask_autoscaling():
    settings = {}
    if ask_yes_no("Enable autoscaling? [y/N]: ", False):
        mn = ask_int("Minimum number of replicas: ", minimum=1)
        mx = ask_int("Maximum number of replicas: ", minimum=1)
        if mn > mx:
            raise Fail("error: minimum number of replicas (%d) is greater than maximum (%d)" % (mn, mx))
        settings.update(autoscaling=True, minReplicas=mn, maxReplicas=mx, linkerd=True)
    else:
        settings.update(autoscaling=False, minReplicas=None, maxReplicas=None,
                        linkerd=ask_yes_no("Enable Linkerd? [Y/n]: ", True))
    return settings


# --------------------------------------------------------------------------
# installer
# --------------------------------------------------------------------------

def installer(lab, args):
    require_tty("elma365-installer")
    edition = None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-e" and i + 1 < len(args):
            edition = args[i + 1]
            i += 2
        elif a.startswith("-e") and len(a) > 2:
            edition = a[2:]
            i += 1
        else:
            raise Fail("elma365-installer: unknown argument %r\nusage: elma365-installer.sh -e enterprise|standard" % a)
    if edition is None:
        raise Fail("elma365-installer: the edition is required: -e enterprise|standard")
    if edition not in ("enterprise", "standard"):
        raise Fail("elma365-installer: unknown edition %r (expected enterprise or standard)" % edition)

    with lab as st:
        if st["installed"] and st["main"] and st["main"]["name"] != lab.node:
            if lab.node in st["members"]:
                raise Fail("elma365-installer: this node is already part of the ELMA365 cluster of %s; "
                           "run the installer on the main node" % st["main"]["name"])
            raise Fail("elma365-installer: ELMA365 is already installed on %s (the lab supports one cluster)"
                       % st["main"]["name"])

    domain = ask("Enter the domain name for ELMA365: ")
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", domain or ""):
        raise Fail("error: invalid domain name %r" % domain)
    given = {}
    external = ask_connection_strings(given)
    settings = ask_autoscaling()
    extra = lab.faults().get("installer_extra_question")
    if extra:
        ask_yes_no(extra, False)
    failure = lab.faults().get("installer_fail_after_questions")
    if failure:
        # a failing install: its progress, lines that echo the answers (a connection string split
        # across two writes), then the fault's message and a non-zero exit
        for i in range(1, 51):
            print("Installing ELMA365 %s: component %d of 50" % (edition, i))
        print("Configuring the domain %s" % domain)
        for svc, cs in given.items():
            half = len(cs) // 2
            sys.stdout.write("Connecting to %s at %s" % (svc, cs[:half]))
            sys.stdout.flush()
            time.sleep(0.3)
            print("%s ... refused" % cs[half:])
        sys.stdout.flush()
        raise Fail(str(failure), rc=5)

    print("Installing ELMA365 %s for %s ..." % (edition, domain))
    sys.stdout.flush()
    lab.sleep("install")

    os.makedirs(BIN_DIR, exist_ok=True)
    for tool in ("microk8s", "elma365ctl"):
        dst = os.path.join(BIN_DIR, tool)
        if tool == "microk8s" or not os.path.exists(dst):
            copy_self(dst)
            os.chmod(dst, 0o755)
    produce_certs(lab, cluster_ca=True)
    lab.datastore.install()
    if not mk_down(lab.load(), lab.node):
        lab.datastore.start()   # MicroK8s' services start with its snap, its datastore among them

    with lab as st:
        if st["installed"] and st["main"] and st["main"]["name"] != lab.node:
            raise Fail("elma365-installer: ELMA365 was installed on %s meanwhile" % st["main"]["name"])
        if not st["installed"]:
            # a fresh MicroK8s: its datastore listens on 127.0.0.1 until a node joins (mk_join)
            lab.node_state(st).pop("datastore", None)
        st["installed"] = True
        st["edition"] = edition
        st["domain"] = domain
        st["main"] = {"name": lab.node, "address": lab.address}
        st["addresses"][lab.node] = lab.address
        if lab.node not in st["members"]:
            st["members"].insert(0, lab.node)
        if lab.node in st["left"]:
            st["left"].remove(lab.node)
        s = st["settings"]
        s.update(settings)
        s["external"] = external
        s.setdefault("ha", False)
        ns = lab.node_state(st)
        ns["up"] = True
        ns["microk8s"] = INSTALLER_CHANNEL
        ns.pop("revision", None)
        lab.save(st)
    if lab.datastore.running():
        lab.datastore.start(wait_ready=True)   # serving its data: the demo's table exists
        if lab.datastore.dump() == {}:
            lab.datastore.load(kubernetes_objects(domain))
    print("ELMA365 has been installed successfully: http://%s" % domain)
    return 0


# --------------------------------------------------------------------------
# elma365ctl
# --------------------------------------------------------------------------

def kubernetes_objects(domain):
    """What a fresh cluster's datastore holds at least: namespaces, and secrets of random bytes (a
    service account token, ELMA365's own keys), as kine keys them."""
    import base64
    entries = {"/registry/namespaces/%s" % ns: json.dumps({"kind": "Namespace", "metadata": {"name": ns}})
               for ns in ("default", "kube-system", "kube-public", "kube-node-lease", "elma365")}
    for ns, name in (("kube-system", "microk8s-dashboard-token"), ("elma365", "elma365-keys")):
        data = base64.b64encode(os.urandom(768)).decode()
        entries["/registry/secrets/%s/%s" % (ns, name)] = json.dumps(
            {"kind": "Secret", "metadata": {"name": name, "namespace": ns}, "data": {"key": data}})
    entries["/registry/configmaps/elma365/elma365-domain"] = json.dumps({"data": {"domain": domain}})
    return entries


def require_installed(st):
    if not st["installed"]:
        raise Fail("elma365ctl: ELMA365 is not installed on this cluster")


def require_member(lab, st):
    require_installed(st)
    if lab.node not in st["members"]:
        raise Fail("elma365ctl: this node (%s) is not a member of the ELMA365 cluster" % lab.node)


def ctl_add_node(lab, args):
    if args:
        raise Fail("elma365ctl add-node: unexpected arguments %s" % " ".join(args))
    token, thash = os.urandom(16).hex(), os.urandom(6).hex()
    with lab as st:
        require_installed(st)
        if st["main"]["name"] != lab.node:
            raise Fail("elma365ctl add-node: must be run on the main node (%s), not on %s"
                       % (st["main"]["name"], lab.node))
        now = time.time()
        ttl = lab.duration("token_ttl", 600)
        # forget tokens that are long gone
        st["tokens"] = {t: v for t, v in st["tokens"].items() if v.get("expires", 0) > now - 3600}
        st["tokens"][token] = {"hash": thash, "created": now, "expires": now + ttl, "used": False}
        main_addr = st["main"]["address"]
        lab.save(st)
    lab.sleep("add_node")
    path = "%s/%s" % (token, thash)
    print("From the node you wish to join to this cluster, run the following:")
    print("microk8s join %s:25000/%s" % (UNREACHABLE_ADDRESS, path))
    print("")
    print("Use the '--worker' flag to join a node as a worker not running the control plane, eg:")
    print("microk8s join %s:25000/%s --worker" % (UNREACHABLE_ADDRESS, path))
    print("")
    print("If the node you are adding is not reachable through the default interface you can use one of the following:")
    print("microk8s join %s:25000/%s" % (UNREACHABLE_ADDRESS, path))
    print("microk8s join %s:25000/%s" % (main_addr, path))
    return 0


def ctl_scale(lab, args):
    if len(args) != 2:
        raise Fail("usage: elma365ctl scale all|<service> <replicas>")
    service, count = args
    if service != "all" and not re.fullmatch(r"[a-z][a-z0-9-]*", service):
        raise Fail("elma365ctl scale: invalid service name %r" % service)
    if not re.fullmatch(r"\d+", count):
        raise Fail("elma365ctl scale: invalid replica count %r (must be an integer >= 0)" % count)
    with lab as st:
        require_member(lab, st)
        if st["settings"].get("autoscaling"):
            raise Fail("elma365ctl scale: Manual scaling is not available while autoscaling is enabled")
    lab.sleep("scale")
    with lab as st:
        if st["settings"].get("autoscaling"):
            raise Fail("elma365ctl scale: Manual scaling is not available while autoscaling is enabled")
        if service == "all":
            st["replicas"] = {"all": int(count)}
        else:
            st["replicas"][service] = int(count)
        lab.save(st)
    print("Scaled %s to %s replicas" % (service, count))
    return 0


def ctl_reconfigure(lab, args):
    if args:
        raise Fail("elma365ctl reconfigure: unexpected arguments %s" % " ".join(args))
    require_tty("elma365ctl reconfigure")
    with lab as st:
        require_member(lab, st)
    external = ask_connection_strings()
    settings = ask_autoscaling()
    settings["external"] = external
    if ask_yes_no("Enable high availability mode? [y/N]: ", False):
        with lab as st:
            n = len(st["members"])
        if n < 3:
            raise Fail("error: high availability mode requires at least 3 nodes in the cluster "
                       "(the cluster has %d)" % n)
        reps = ask_int("Number of replicas for system services (minimum 3): ")
        if reps < 3:
            raise Fail("error: the number of replicas for system services must be at least 3 (got %d)" % reps)
        fo = ask_int("Time of moving application services from failed nodes, seconds (10-300): ")
        if not 10 <= fo <= 300:
            raise Fail("error: the time of moving application services must be between 10 and 300 seconds "
                       "(got %d)" % fo)
        settings.update(ha=True, haReplicas=reps, failoverSeconds=fo)
    else:
        settings.update(ha=False, haReplicas=None, failoverSeconds=None)
    print("Reconfiguring ELMA365 ...")
    sys.stdout.flush()
    lab.sleep("reconfigure")
    with lab as st:
        require_member(lab, st)
        if settings["ha"] and len(st["members"]) < 3:
            raise Fail("error: high availability mode requires at least 3 nodes in the cluster")
        old = st["settings"]
        ha_changed = any(old.get(k) != settings.get(k) for k in ("ha", "haReplicas", "failoverSeconds"))
        old.update(settings)
        if ha_changed:
            st["hamodeUpdated"] = []
        st["reconfiguredOn"] = lab.node
        lab.save(st)
    print("ELMA365 has been reconfigured.")
    if settings["ha"]:
        print("Run 'elma365ctl update-hamode' on each node of the cluster, one node at a time.")
    return 0


def ctl_update_hamode(lab, args):
    if args:
        raise Fail("elma365ctl update-hamode: unexpected arguments %s" % " ".join(args))
    with lab as st:
        require_member(lab, st)
        if not st["settings"].get("ha"):
            raise Fail("elma365ctl update-hamode: high availability mode is not enabled "
                       "(run elma365ctl reconfigure first)")
        m = st["updatingHamode"]
        if live_marker(m):
            raise Fail("elma365ctl update-hamode: update-hamode is already running on %s" % m["node"])
        st["updatingHamode"] = {"node": lab.node, "pid": os.getpid(), "since": time.time()}
        lab.node_state(st)["up"] = False
        lab.save(st)
    ok = False
    try:
        print("Updating high availability settings on %s, the node will be restarted ..." % lab.node)
        sys.stdout.flush()
        lab.sleep("update_hamode")
        ok = True
    finally:
        with lab as st:
            m = st["updatingHamode"]
            if m and m.get("pid") == os.getpid():
                st["updatingHamode"] = None
            lab.node_state(st)["up"] = True
            if ok and lab.node not in st["hamodeUpdated"]:
                st["hamodeUpdated"].append(lab.node)
            lab.save(st)
    print("High availability settings updated on %s." % lab.node)
    return 0


def ctl_restart(lab, args):
    if args:
        raise Fail("elma365ctl restart: unexpected arguments %s" % " ".join(args))
    with lab as st:
        require_member(lab, st)
    print("Restarting ELMA365 services ...")
    sys.stdout.flush()
    lab.sleep("restart")
    with lab as st:
        st["restarts"] = int(st.get("restarts", 0)) + 1
        st["lastRestart"] = {"node": lab.node, "time": time.time(), "hamodeUpdated": list(st["hamodeUpdated"])}
        lab.save(st)
    print("ELMA365 services restarted.")
    return 0


def ctl_status(lab, args):
    with lab as st:
        require_installed(st)
    s = st["settings"]
    print("edition: %s" % st.get("edition"))
    print("domain: %s" % st.get("domain"))
    print("main node: %s (%s)" % (st["main"]["name"], st["main"]["address"]))
    print("nodes: %s" % ", ".join("%s(%s)" % (n, "up" if st["nodes"].get(n, {}).get("up") else "down")
                                  for n in st["members"]))
    print("external services: %s" % (", ".join(s.get("external") or []) or "none"))
    print("autoscaling: %s" % ("enabled (min %s, max %s)" % (s.get("minReplicas"), s.get("maxReplicas"))
                               if s.get("autoscaling") else "disabled"))
    print("linkerd: %s" % ("enabled" if s.get("linkerd") else "disabled"))
    print("high availability: %s" % ("enabled (replicas %s, failover %ss)" % (s.get("haReplicas"), s.get("failoverSeconds"))
                                     if s.get("ha") else "disabled"))
    print("hamode updated on: %s" % (", ".join(st["hamodeUpdated"]) or "none"))
    print("replicas: %s" % (json.dumps(st["replicas"], sort_keys=True) if st["replicas"] else "default"))
    print("restarts: %s" % st.get("restarts", 0))
    return 0


def elma365ctl(lab, args):
    cmds = {"add-node": ctl_add_node, "scale": ctl_scale, "reconfigure": ctl_reconfigure,
            "update-hamode": ctl_update_hamode, "restart": ctl_restart, "status": ctl_status}
    if not args or args[0] not in cmds:
        raise Fail("usage: elma365ctl %s" % "|".join(cmds))
    return cmds[args[0]](lab, args[1:])


# --------------------------------------------------------------------------
# microk8s
# --------------------------------------------------------------------------

def mk_join(lab, args):
    worker = "--worker" in args
    rest = [a for a in args if a != "--worker"]
    if len(rest) != 1:
        raise Fail("usage: microk8s join <master>:<port>/<token>/<hash> [--worker]")
    m = re.fullmatch(r"([0-9A-Za-z.\-]+):(\d+)/([0-9a-fA-F]+)/([0-9a-fA-F]+)", rest[0])
    if not m:
        raise Fail("Invalid connection string %r, expected <master>:<port>/<token>/<hash>" % rest[0])
    addr, port, token, thash = m.groups()
    with lab as st:
        if lab.node in st["members"]:
            raise Fail("Connection failed. This node is already part of a cluster (%s). "
                       "Run 'microk8s leave' first." % lab.node)
        main = st["main"]
    if not st["installed"] or not main or addr != main["address"] or port != "25000":
        time.sleep(lab.duration("unreachable_timeout", 2.0))
        raise Fail("Contacting cluster at %s\nConnection failed. The joining node could not reach %s:%s: "
                   "connection timed out (timed out)" % (addr, addr, port))
    print("Contacting cluster at %s" % addr)
    sys.stdout.flush()
    with lab as st:
        j = st["joining"]
        if live_marker(j):
            raise Fail("Connection failed. Another node (%s) is joining the cluster, try later (503)." % j["node"]
                       if j["node"] != lab.node else
                       "Connection failed. This node is already joining the cluster (503).")
        t = st["tokens"].get(token)
        if t is None or t.get("hash") != thash:
            raise Fail("Connection failed. Invalid token (500)")
        if t.get("used"):
            raise Fail("Connection failed. Invalid token (500): the token has already been used")
        if t.get("expires", 0) < time.time():
            raise Fail("Connection failed. Invalid token (500): the token has expired")
        t["used"] = True
        t["usedBy"] = lab.node
        faults = lab.faults()
        if faults.get("join_fail_once") == lab.node:
            faults.pop("join_fail_once")
            lab.set_faults(faults)
            lab.save(st)
            raise Fail("Connection failed. Invalid token (500)")
        st["joining"] = {"node": lab.node, "pid": os.getpid(), "since": time.time()}
        lab.save(st)
    ok = False
    try:
        join_certs(lab)   # the cluster's CA, and this node's certificates signed by it
        print("Waiting for this node to finish joining the cluster. .. .. .. .")
        sys.stdout.flush()
        lab.sleep("join")
        join_datastore(lab, None if worker else datastore_endpoint(addr))
        ok = True
    finally:
        with lab as st:
            j = st["joining"]
            if j and j.get("pid") == os.getpid():
                st["joining"] = None
            if ok:
                if lab.node in st["left"]:
                    st["left"].remove(lab.node)
                if lab.node not in st["members"]:
                    st["members"].append(lab.node)
                uncordoned(st, lab.node)
                if worker and lab.node not in st["workers"]:
                    st["workers"].append(lab.node)
                st["addresses"][lab.node] = lab.address
                if not worker:
                    # MicroK8s' cluster agent moves a datastore bound to 127.0.0.1 to the address the
                    # join came in on, and the new voter's to its own; neither moves back afterwards
                    lab.node_state(st)["datastore"] = lab.address
                    if st["main"]:
                        lab.node_state(st, st["main"]["name"])["datastore"] = st["main"]["address"]
                lab.node_state(st)["up"] = True
            lab.save(st)
    print("Successfully joined the cluster.")
    return 0


def datastore_endpoint(address):
    return "%s:19001" % address


def join_datastore(lab, member):
    """The joining node's datastore: its own data wiped, then (a control plane node) joined to the
    cluster of `member` and waited for until go-dqlite's roles settle (app/roles.go: a cluster of
    fewer than 3 keeps one voter, the others spare; from 3 on, 3 voters, then up to 3 standbys, the
    rest spare). A worker keeps no datastore."""
    ds = lab.datastore
    ds.wipe()
    if member is None:
        return
    ds.start(join=member, wait_ready=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        members = ds.members() or []
        roles = {m["Address"]: m["Role"] for m in members}
        voters = list(roles.values()).count(0)
        if ds.endpoint in roles and (len(roles) < 3 or (roles[ds.endpoint] in (0, 1) and voters >= 3)):
            return
        time.sleep(0.3)
    raise Fail("Connection failed. The datastore of %s did not settle in the cluster of %s (500)"
               % (lab.node, member))


def datastore_roles(lab, st):
    """(voters, standbys) as the cluster's dqlite lists them, asked from this node (its
    cluster.yaml; a worker asks the main node), each as MicroK8s lists it: a datastore no node
    ever joined is on 127.0.0.1 (the lab's listens on the node's own address: the lab's nodes share
    one network). None when no leader answers: the quorum is lost, or no datastore runs."""
    main = st["main"]
    members = lab.datastore.members(fallback=datastore_endpoint(main["address"]) if main else None)
    if members is None:
        return None
    names = dict((a, n) for n, a in st["addresses"].items())
    names[lab.address] = lab.node

    def shown(member):
        host = member.rsplit(":", 1)[0]
        moved = st["nodes"].get(names.get(host), {}).get("datastore")
        return member if moved else datastore_endpoint("127.0.0.1")
    return ([shown(m["Address"]) for m in members if m["Role"] == 0],
            [shown(m["Address"]) for m in members if m["Role"] == 1])


def mk_down(st, node):
    """Whether `node`'s MicroK8s is not serving: `microk8s stop`ped (until `start`), a `snap refresh`
    in progress (snapd restarts the snap's services), or not back after one (fault refresh_stuck,
    until `microk8s start`), or its services restarting after `microk8s refresh-certs`."""
    ns = st["nodes"].get(node, {})
    return bool(ns.get("stopped") or ns.get("stuck") or live_marker(ns.get("refreshing"))
                or live_marker(ns.get("restarting")))


def dqlite_away(st, node):
    """A voter whose datastore is away: refreshing, or not back after a refresh (`microk8s stop`
    keeps its place in the lab, as it always did)."""
    ns = st["nodes"].get(node, {})
    return bool(ns.get("stuck") or live_marker(ns.get("refreshing")))


def st_stopped(lab):
    """Whether this node's MicroK8s is not serving (see mk_down)."""
    return mk_down(lab.load(), lab.node)


def node_ready(lab, st):
    if mk_down(st, lab.node):
        return False         # `microk8s stop`, a refresh
    if lab.node not in st["members"]:
        return True          # standalone MicroK8s is running
    if lab.datastore.running() and not lab.datastore.serving():
        return False         # kubelite's API server answers once its own datastore serves (k8s-dqlite)
    return bool(st["nodes"].get(lab.node, {}).get("up"))


def mk_status(lab, args):
    wait = "--wait-ready" in args
    timeout = None
    if "--timeout" in args:
        i = args.index("--timeout")
        try:
            timeout = float(args[i + 1])
        except (IndexError, ValueError):
            raise Fail("microk8s status: --timeout requires a number")
    deadline = None if timeout is None else time.time() + timeout
    # MicroK8s' scripts/wrappers/status.py: is_cluster_ready() (common/utils.py) asks the API server
    # (`kubectl get all`), which cannot read a datastore without a leader (a majority of its voters
    # dead): "microk8s is not running", exit 1 (with --wait-ready, once the wait is over). With a
    # leader, print_pretty lists what get_dqlite_info reads with `dqlite ... k8s .cluster`: the
    # configuration, so a dead voter is still listed.
    while True:
        st = lab.load()
        roles = datastore_roles(lab, st) if node_ready(lab, st) else None
        if roles is not None or not wait:
            break
        if deadline is not None and time.time() >= deadline:
            raise Fail("microk8s is not running. Timed out waiting for the node to become ready.")
        time.sleep(0.2)
    if roles is None:
        print("microk8s is not running. Use microk8s inspect for a deeper inspection.")
        return 1
    # scripts/wrappers/status.py (print_pretty, get_dqlite_info): the voters and standbys of the
    # datastore, from dqlite's `.cluster` (Role 0 and 1). The lab leaves out a voter away for a
    # refresh (listed again once it is back).
    away = set(datastore_endpoint(st["addresses"].get(n, "")) for n in st["nodes"] if dqlite_away(st, n))
    voters, standbys = ([m for m in ms if m not in away] for ms in roles)
    print("microk8s is running")
    print("high-availability: %s" % ("yes" if len(voters) >= 3 else "no"))
    print("  datastore master nodes: %s" % (" ".join(voters) or "none"))
    print("  datastore standby nodes: %s" % (" ".join(standbys) or "none"))
    print("addons:")
    print("  enabled:")
    print("    dns                  # (core) CoreDNS")
    print("    ha-cluster           # (core) Configure high availability on the current node")
    print("    helm                 # (core) Helm - the package manager for Kubernetes")
    return 0


def mk_leave(lab, args):
    if lab.faults().get("leave_noop") == lab.node:
        # a leave that reports success and leaves nothing (a stuck or half-done leave)
        print("Generating new cluster certificates.\nWaiting for node to start.")
        return 0
    with lab as st:
        if mk_down(st, lab.node):
            raise Fail("microk8s is not running. Use microk8s inspect for a deeper inspection.")
        if lab.node not in st["members"]:
            raise Fail("This node is not part of a cluster.")
        if st["main"] and st["main"]["name"] == lab.node:
            raise Fail("microk8s leave: %s is the main node of the ELMA365 cluster; the lab does not "
                       "support removing it" % lab.node)
        st["members"].remove(lab.node)
        if lab.node in st["workers"]:
            st["workers"].remove(lab.node)
        if lab.node not in st["left"]:
            st["left"].append(lab.node)
        if lab.node in st["hamodeUpdated"]:
            st["hamodeUpdated"].remove(lab.node)
        lab.node_state(st)["up"] = False
        lab.node_state(st).pop("datastore", None)   # a lone MicroK8s again, on 127.0.0.1
        lab.save(st)
    leave_datastore(lab)
    print("Generating new cluster certificates.\nWaiting for node to start.")
    return 0


def leave_datastore(lab):
    """leave.py's reset_current_dqlite_installation: stop this node's datastore, `.remove` it
    through the other members, then a fresh datastore of its own (a worker has none to remove)."""
    ds = lab.datastore
    was_member = ds.running() or os.path.exists(os.path.join(BACKEND, "cluster.yaml"))
    ds.stop()
    if was_member and not ds.remove(ds.endpoint):
        raise Fail("Contacting node %s failed. Error:\nTimeoutError('no dqlite leader answered')" % ds.endpoint, rc=2)
    ds.wipe()
    ds.start()


# the dqlite shell as remove_node.py runs it (get_dqlite_endpoints, delete_dqlite_node)
DQLITE_ARGV = ("['/snap/microk8s/current/bin/dqlite', '-s', "
               "'file:///var/snap/microk8s/current/var/kubernetes/backend/cluster.yaml', '-c', "
               "'/var/snap/microk8s/current/var/kubernetes/backend/cluster.crt', '-k', "
               "'/var/snap/microk8s/current/var/kubernetes/backend/cluster.key', '-f', 'json', 'k8s', '%s']")


def mk_remove_node(lab, args):
    """MicroK8s' scripts/wrappers/remove_node.py (remove_dqlite_node) on the lab's real dqlite: the
    node's endpoint as the datastore's `.cluster` lists it (get_dqlite_endpoints); a node listed there
    is refused without --force (on stdout, exit 1); with --force, delete_dqlite_node runs `.remove
    <ep>`, which needs the datastore's leader; when it fails: "Contacting node <own ep> failed.
    Error:", repr(err), exit 2. Without a leader the first `kubectl get no` fails: "Node <n> does not
    exist in Kubernetes.", exit 1 (with --force, its `.cluster` read then fails uncaught). Nothing is
    printed when it succeeds."""
    force = "--force" in args
    rest = [a for a in args if a != "--force"]
    if len(rest) != 1:
        raise Fail("usage: microk8s remove-node <node> [--force]")
    name = rest[0]
    st = lab.load()
    if not st["main"] or st["main"]["name"] != lab.node:
        raise Fail("microk8s remove-node: run this on the main node of the cluster")
    if name == lab.node:
        raise Fail("microk8s remove-node: cannot remove the node you are running on")
    listed = lab.datastore.members()
    if listed is None:
        print("Node %s does not exist in Kubernetes." % name)
        if force:
            print("Attempting to remove %s from dqlite." % name)
            raise Fail("Traceback (most recent call last):\nsubprocess.CalledProcessError: Command %s returned "
                       "non-zero exit status 1." % (DQLITE_ARGV % ".cluster"))
        return 1
    gone = datastore_endpoint(st["addresses"].get(name, ""))
    if name in st["members"] and gone in [m["Address"] for m in listed]:
        if not force:
            print("Removal failed. Node %s is registered with dqlite. Please, run first 'microk8s leave' on "
                  "the departing node. \nIf the node is not available anymore and will never attempt to join "
                  "the cluster in the future use the '--force' flag \nto unregister the node while removing it."
                  % name)
            return 1
        if not lab.datastore.remove(gone):
            print("Contacting node %s failed. Error:" % lab.datastore.endpoint)
            print("CalledProcessError(1, %s)" % (DQLITE_ARGV % (".remove " + gone)))
            return 2
    with lab as st:
        if name in st["members"]:
            st["members"].remove(name)
            if name in st["workers"]:
                st["workers"].remove(name)
            if name in st["hamodeUpdated"]:
                st["hamodeUpdated"].remove(name)
            st["nodes"].setdefault(name, {})["up"] = False
            st["nodes"][name].pop("datastore", None)
        elif name in st["left"]:
            st["left"].remove(name)
        else:
            raise Fail("Node %s does not exist in Kubernetes." % name)
        uncordoned(st, name)
        lab.save(st)
    return 0


# kubectl options that take a value as the next word (`--timeout 60s`), for telling the node names apart
KUBECTL_VALUE_OPTIONS = {"--timeout", "--grace-period", "--pod-selector", "-l", "--selector", "-o", "--output",
                         "--skip-wait-for-delete-timeout", "--chunk-size"}


def kube_names(args):
    names, rest = [], list(args)
    while rest:
        a = rest.pop(0)
        if a in KUBECTL_VALUE_OPTIONS and rest:
            rest.pop(0)
        elif not a.startswith("-"):
            names.append(a)
    return names


def one_kube_node(st, verb, args):
    names = kube_names(args)
    if len(names) != 1:
        raise Fail("lab: only 'microk8s kubectl %s <node> ...' (one node) is simulated" % verb)
    name = names[0]
    if name not in st["members"] and name not in st["left"]:
        raise Fail('Error from server (NotFound): nodes "%s" not found' % name)
    return name


def cordon(lab, name):
    """Marks `name` unschedulable (kubectl's cordon); prints what kubectl prints."""
    with lab as st:
        one_kube_node(st, "cordon", [name])
        cordoned = st.setdefault("cordoned", [])
        if name in cordoned:
            print("node/%s already cordoned" % name)
            return
        cordoned.append(name)
        lab.save(st)
    print("node/%s cordoned" % name)


def mk_cordon(lab, args):
    cordon(lab, one_kube_node(lab.load(), "cordon", args))
    return 0


def mk_uncordon(lab, args):
    with lab as st:
        name = one_kube_node(st, "uncordon", args)
        if name not in st.get("cordoned", []):
            print("node/%s already uncordoned" % name)
            return 0
        st["cordoned"].remove(name)
        if name in st.get("drained", []):
            st["drained"].remove(name)
        lab.save(st)
    print("node/%s uncordoned" % name)
    return 0


def uncordoned(st, name):
    """A Node object gone (remove-node) or made anew (join) is schedulable again."""
    for key in ("cordoned", "drained"):
        if name in st.get(key, []):
            st[key].remove(name)


def mk_drain(lab, args):
    """`kubectl drain NAME ...`: cordon (it stays cordoned until `uncordon`, even when the drain
    fails) and evict; the fault drain_stuck=NAME plays a pod that cannot move."""
    name = one_kube_node(lab.load(), "drain", args)
    cordon(lab, name)
    if lab.faults().get("drain_stuck") == name:
        raise Fail("error: unable to drain node %s: cannot evict pod elma365/main-0 (disruption budget); "
                   "timed out waiting for the condition" % name)
    with lab as st:
        if name not in st.setdefault("drained", []):
            st["drained"].append(name)
        lab.save(st)
    print("node/%s drained" % name)
    return 0


def kube_status(st, name):
    """A node's STATUS column: Ready or NotReady, then SchedulingDisabled while cordoned."""
    ready = "Ready" if name in st["members"] and st["nodes"].get(name, {}).get("up") else "NotReady"
    return ready + (",SchedulingDisabled" if name in st.get("cordoned", []) else "")


def mk_get_nodes(lab, args):
    """`kubectl get node[s] [<name>] [--no-headers]`."""
    names, headers = kube_names(args), not ({"--no-headers", "--no-headers=true"} & set(args))
    st = lab.load()
    if len(names) > 1:
        raise Fail("lab: only 'microk8s kubectl get node[s] [<name>]' is simulated")
    if names:
        name = names[0]
        # As in MicroK8s, a node that ran `leave` stays a (NotReady) Node object until `remove-node`.
        if name not in st["members"] and name not in st["left"]:
            raise Fail('Error from server (NotFound): nodes "%s" not found' % name)
        status = kube_status(st, name)
        width = max(8, len(status))
        if headers:
            print("NAME%s%-*s ROLES    AGE   VERSION" % (" " * max(1, len(name) - 1), width, "STATUS"))
        print("%s   %-*s <none>   1h    %s" % (name, width, status, version_of(st, name)))
        return 0
    listed = st["members"] + [n for n in st["left"] if n not in st["members"]]
    width = max([8] + [len(kube_status(st, n)) for n in listed])
    if headers:
        print("NAME         %-*s ROLES    AGE   VERSION" % (width, "STATUS"))
    for n in listed:
        print("%-12s %-*s <none>   1h    %s" % (n, width, kube_status(st, n), version_of(st, n)))
    return 0


# ELMA365's workloads as `kubectl get pods -n elma365` lists them on a member: each service's pods
# are named as a Deployment's (<service>-<replica set>-<pod>), the same on every call.
ELMA365_PODS = [("auth", "7d9c5b8f6d"), ("main", "6f8d7c9b5"), ("web", "5c7b9d8f4"), ("worker", "84f6c7d9b")]
POD_IDS = ["4kq2x", "x2k4q", "p7m3n", "r5t8w", "h6j9z", "c3v8b", "m2n5l", "t7y4u", "w9e1r"]
POD_COLUMNS = "%-28s %-7s %-9s %-10s %s"


def mk_get_pods(lab, args):
    """`kubectl get pods [-n NS|--namespace NS|--namespace=NS] [--no-headers]`: ELMA365's pods on a
    member of the installed cluster (one per replica of `elma365ctl scale`, default 1), nothing
    ("No resources found in NS namespace." on stderr, exit 0) anywhere else, as kubectl prints."""
    namespace, headers, rest = "default", True, list(args)
    while rest:
        a = rest.pop(0)
        if a in ("-n", "--namespace") and rest:
            namespace = rest.pop(0)
        elif a.startswith("--namespace="):
            namespace = a.split("=", 1)[1]
        elif a.startswith("-n") and len(a) > 2:
            namespace = a[2:]
        elif a == "--no-headers" or a == "--no-headers=true":
            headers = False
        else:
            raise Fail("lab: only 'microk8s kubectl get pods [-n <namespace>] [--no-headers]' is simulated "
                       "(not %r)" % a)
    st = lab.load()
    rows = []
    if namespace == "elma365" and st["installed"] and lab.node in st["members"]:
        for k, (service, replica_set) in enumerate(ELMA365_PODS):
            count = st["replicas"].get(service, st["replicas"].get("all", 1))
            for pod_id in (POD_IDS[k:] + POD_IDS[:k])[:max(0, int(count))]:
                pod = "%s-%s-%s" % (service, replica_set, pod_id)
                rows.append(POD_COLUMNS % (pod, "1/1", "Running", "0", "1h"))
    if not rows:
        sys.stderr.write("No resources found in %s namespace.\n" % namespace)
        return 0
    if headers:
        print(POD_COLUMNS % ("NAME", "READY", "STATUS", "RESTARTS", "AGE"))
    print("\n".join(rows))
    return 0


def mk_kubectl(lab, args):
    if st_stopped(lab):
        # the API server of this node is down: every kubectl call fails as kubectl does
        raise Fail("The connection to the server 127.0.0.1:16443 was refused - did you specify the right host or port?")
    st = lab.load()
    if lab.node in st["members"] and datastore_roles(lab, st) is None:
        # the API server runs but its datastore has no leader (a lost quorum): requests time out
        raise Fail("Error from server (Timeout): the server was unable to return a response in the time allotted, "
                   "but may still be processing the request")
    verb = args[0] if args else ""
    if verb == "get" and args[1:2] and args[1] in ("pods", "pod", "po"):
        return mk_get_pods(lab, args[2:])
    if verb == "get" and args[1:2] and args[1] in ("node", "nodes", "no"):
        return mk_get_nodes(lab, args[2:])
    verbs = {"drain": mk_drain, "cordon": mk_cordon, "uncordon": mk_uncordon}
    if verb in verbs:
        return verbs[verb](lab, args[1:])
    raise Fail("lab: only 'microk8s kubectl get node[s] [<name>]', 'kubectl get pods' and 'kubectl drain|cordon|"
               "uncordon <name>' are simulated")


def mk_stop_start(lab, up):
    """`microk8s stop` / `microk8s start` on this node: while stopped, `status` says it is not running.
    Its datastore stops and starts with it (k8s-dqlite is one of the snap's services)."""
    if up:
        lab.datastore.start()
    else:
        lab.datastore.stop()
    with lab as st:
        lab.node_state(st)["up"] = up
        lab.node_state(st)["stopped"] = not up
        lab.node_state(st).pop("stuck", None)   # a start (or a stop) restarts what a refresh left failing
        lab.save(st)
    if up:
        # microk8s-start.wrapper ends with utils.sh's wait_for_node: up to 60 s until the local API
        # server lists a Ready node (so this node's datastore serves); exit 0 either way
        deadline = time.time() + lab.duration("start_wait", 60.0)
        while time.time() < deadline and not node_ready(lab, lab.load()):
            time.sleep(0.5)
    print("Started." if up else "Stopped.")
    return 0


# Each MicroK8s channel of the lab's store: its revisions, oldest first, as (version, snap revision).
# An install or a channel switch gets the channel's first; a refresh within the channel moves to the
# newest (a patch release, or a rebuild of the last patch of its minor: 1.27 and 1.28 ended at .16/.15).
REVISIONS = {"1.27/stable": [("v1.27.16", "6950"), ("v1.27.16", "7590")],
             "1.28/stable": [("v1.28.15", "7449"), ("v1.28.15", "7581")],
             "1.29/stable": [("v1.29.9", "7231"), ("v1.29.15", "7660")],
             "1.30/stable": [("v1.30.6", "7346"), ("v1.30.14", "7702")],
             "latest/stable": [("v1.31.3", "7532"), ("v1.31.9", "7735")]}
CHANNELS = {channel: revisions[0] for channel, revisions in REVISIONS.items()}   # what an install gets
INSTALLER_CHANNEL = "1.28/stable"   # the channel the ELMA365 installer puts on the main node


def channel_of(st, node):
    return st["nodes"].get(node, {}).get("microk8s") or INSTALLER_CHANNEL


def installed_of(st, node):
    """(version, revision) of the MicroK8s snap on `node`: the revision it was refreshed to, else the
    first of its channel."""
    revisions = REVISIONS.get(channel_of(st, node), REVISIONS[INSTALLER_CHANNEL])
    revision = st["nodes"].get(node, {}).get("revision")
    return next((r for r in revisions if r[1] == revision), revisions[0])


def version_of(st, node):
    return installed_of(st, node)[0]


def mk_version(lab, args):
    print("MicroK8s %s revision %s" % installed_of(lab.load(), lab.node))
    return 0


# The lab's Kubernetes datastore is its real dqlite (lab/sim/datastore.py: the demo's key/value table
# stands for kine's). These two functions are what `k8s-dqlite migrator --mode backup-dqlite /
# restore-to-dqlite` does to it; the rest of dbctl is MicroK8s' dbctl.py (mk_dbctl).
def datastore_backup_to(lab, db_dir):
    """`--mode backup-dqlite --db-dir DIR`: the datastore's entries into DIR (created); the
    migrator's exit status. With the lab fault `dbctl_empty_backup` it writes nothing and exits 0,
    as MicroK8s 1.27+ does in canonical/microk8s#4308 (an archive of an empty folder)."""
    with lab as st:
        require_member(lab, st)
    os.makedirs(db_dir, exist_ok=True)
    if lab.faults().get("dbctl_empty_backup"):
        return 0
    entries = lab.datastore.dump()
    if entries is None:
        # the migrator waits for a dqlite leader forever (#2348); the lab gives up
        print("lab migrator: the datastore does not answer (no dqlite leader)", file=sys.stderr)
        return 1
    with open(os.path.join(db_dir, "kine.json"), "w") as f:
        json.dump(entries, f, indent=1, sort_keys=True)
    return 0


def datastore_restore_from(lab, db_dir):
    """`--mode restore-to-dqlite --db-dir DIR`: the entries of DIR put back; the migrator's exit status."""
    try:
        with open(os.path.join(db_dir, "kine.json")) as f:
            entries = json.load(f)
    except (OSError, ValueError) as exc:
        print("lab migrator: cannot read the backup in %s: %s" % (db_dir, exc))
        return 1
    with lab as st:
        require_member(lab, st)
    if not lab.datastore.load(entries):
        print("lab migrator: the datastore does not answer (no dqlite leader)", file=sys.stderr)
        return 1
    return 0


def mk_dbctl(lab, args):
    """`microk8s dbctl backup [-o FILE]` / `microk8s dbctl restore FILE` as MicroK8s'
    scripts/wrappers/dbctl.py does them: exit 10 (and its message) unless the API server runs with
    the ha-cluster datastore; backup: the migrator writes into a temporary folder named after FILE
    (".tar.gz" stripped, default backup-<date>), which is tarred as FILE.tar.gz with that folder's
    base name as its one top entry, exit 1 when the migrator fails; restore: the archive is
    extracted into a temporary folder and the migrator reads the folder named after the archive's
    base name (so a renamed archive does not restore), exit 3 when it fails."""
    if lab.faults().get("no_dbctl"):
        raise Fail("Command 'dbctl' not found, see 'microk8s help'")   # an older MicroK8s
    if args[:1] == ["--help"]:
        print("usage: microk8s dbctl [-h] [--debug] {restore,backup} ...")
        return 0
    if not node_ready(lab, lab.load()):
        print("Please ensure the kubernetes apiserver is running and HA is enabled.")
        return 10
    import tarfile
    import tempfile
    if args[:1] == ["backup"]:
        print("Backing up the datastore")
        fname = args[args.index("-o") + 1] if "-o" in args[1:-1] else time.strftime("backup-%Y-%m-%d-%H-%M-%S")
        if fname.endswith(".tar.gz"):
            fname = fname[:-7]
        with tempfile.TemporaryDirectory() as tmp:
            db_dir = "%s/%s" % (tmp, fname)
            rc = datastore_backup_to(lab, db_dir)
            if rc > 0:
                print("Backup process failed. %d" % rc)
                return 1
            with tarfile.open(fname + ".tar.gz", "w:gz") as tar:
                tar.add(db_dir, arcname=os.path.basename(db_dir))
        print("The backup is: %s.tar.gz" % fname)
        return 0
    if args[:1] == ["restore"] and len(args) == 2:
        fname_tar = args[1]
        print("Restoring from %s" % fname_tar)
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(fname_tar, "r:gz") as tar:   # an unreadable archive: Python's traceback, exit 1
                tar.extractall(tmp)
            fname = os.path.basename(fname_tar[:-7] if fname_tar.endswith(".tar.gz") else fname_tar)
            rc = datastore_restore_from(lab, "%s/%s" % (tmp, fname))
            if rc > 0:
                print("Restore process failed. %d" % rc)
                return 3
        return 0
    print("usage: microk8s dbctl [-h] [--debug] {restore,backup} ...")
    return 0


def mk_config(lab, args):
    """`microk8s config`: the admin kubeconfig, server on this node's address, a fake token."""
    import base64
    import hashlib
    token = hashlib.sha256(("lab-admin-token:" + lab.state_dir).encode()).hexdigest()[:32]
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nlab fake CA\n-----END CERTIFICATE-----\n").decode()
    print("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n"
          "    server: https://%s:16443\n  name: microk8s-cluster\ncontexts:\n- context:\n"
          "    cluster: microk8s-cluster\n    user: admin\n  name: microk8s\ncurrent-context: microk8s\n"
          "kind: Config\npreferences: {}\nusers:\n- name: admin\n  user:\n    token: %s" % (ca, lab.address, token))
    return 0


def microk8s(lab, args):
    cmds = {"join": mk_join, "status": mk_status, "leave": mk_leave,
            "stop": lambda lab, args: mk_stop_start(lab, False), "start": lambda lab, args: mk_stop_start(lab, True),
            "remove-node": mk_remove_node, "kubectl": mk_kubectl, "config": mk_config,
            "version": mk_version, "dbctl": mk_dbctl, "refresh-certs": mk_refresh_certs}
    if not args or args[0] not in cmds:
        raise Fail("usage: microk8s %s" % "|".join(cmds))
    return cmds[args[0]](lab, args[1:])


# --------------------------------------------------------------------------
# certificates (microk8s-resources/actions/common/utils.sh: produce_certs, gen_server_cert,
# gen_proxy_client_cert, render_csr_conf; microk8s-resources/certs/csr.conf.template;
# scripts/wrappers/refresh_certs.py), made with this machine's openssl
# --------------------------------------------------------------------------

SNAP_DATA = "/var/snap/microk8s/current"   # private to each lab node (its own /var/snap)
CERTS_DIR = SNAP_DATA + "/certs"
CERTS_BACKUP = SNAP_DATA + "/certs-backup/"
CERT_NAMES = {"ca.crt": "CA", "server.crt": "server", "front-proxy-client.crt": "front proxy client"}
CSR_TEMPLATE = """[ req ]
default_bits = 2048
prompt = no
default_md = sha256
req_extensions = req_ext
distinguished_name = dn

[ dn ]
C = GB
ST = Canonical
L = Canonical
O = Canonical
OU = Canonical
CN = 127.0.0.1

[ req_ext ]
subjectAltName = @alt_names

[ alt_names ]
DNS.1 = kubernetes
DNS.2 = kubernetes.default
DNS.3 = kubernetes.default.svc
DNS.4 = kubernetes.default.svc.cluster
DNS.5 = kubernetes.default.svc.cluster.local
IP.1 = 127.0.0.1
IP.2 = 10.152.183.1
#MOREIPS

[ v3_ext ]
authorityKeyIdentifier=keyid,issuer:always
basicConstraints=CA:FALSE
keyUsage=keyEncipherment,dataEncipherment,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=@alt_names
"""


def openssl(*args, stdin=None):
    import subprocess
    done = subprocess.run(["openssl"] + list(args), input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError("openssl %s: %s" % (args[0], done.stderr.strip()))
    return done.stdout


def cert_path(name, certs=CERTS_DIR):
    return os.path.join(certs, name)


def lifetimes(lab):
    """The days a new certificate of this node is signed for: MicroK8s' 365 (gen_server_cert,
    gen_proxy_client_cert), or what a test chose (state/certificates.json: {node: {cert: days}})."""
    chosen = lab._read_json("certificates.json", {}).get(lab.node, {})
    return lambda cert: int(chosen.get(cert, 365))


def render_csr_conf(address, certs=CERTS_DIR):
    """csr.conf from the template, the node's address as IP.3 (render_csr_conf: `hostname -I`)."""
    with open(cert_path("csr.conf", certs), "w") as f:
        f.write(CSR_TEMPLATE.replace("#MOREIPS", "IP.3 = %s" % address))


def sign(cert, days, certs=CERTS_DIR):
    """gen_server_cert / gen_proxy_client_cert: a new CSR from the node's key, signed by its CA for
    `days` (a test may pass -1: ended a day ago)."""
    key, ca = {"server.crt": ("server.key", "ca"), "front-proxy-client.crt": ("front-proxy-client.key", "front-proxy-ca")}[cert]
    csr = cert_path(cert.replace(".crt", ".csr"), certs)
    config = cert_path("csr.conf", certs)
    subject = ["-subj", "/CN=front-proxy-client"] if cert == "front-proxy-client.crt" else []
    openssl("req", "-new", "-sha256", "-key", cert_path(key, certs), "-out", csr, "-config", config, *subject)
    openssl("x509", "-req", "-sha256", "-in", csr, "-CA", cert_path(ca + ".crt", certs), "-CAkey",
            cert_path(ca + ".key", certs), "-CAcreateserial", "-out", cert_path(cert, certs), "-days", str(days),
            "-extensions", "v3_ext", "-extfile", config)


def produce_certs(lab, cluster_ca=False):
    """produce_certs: the keys and CAs a node lacks, csr.conf, then server.crt and
    front-proxy-client.crt. The main node's CA is the cluster's (`cluster_ca`): kept in the lab's
    shared state, where a joining node gets it from (MicroK8s' join hands it over)."""
    os.makedirs(CERTS_DIR, exist_ok=True)
    for key in ("serviceaccount.key", "ca.key", "server.key", "front-proxy-ca.key", "front-proxy-client.key"):
        if not os.path.exists(cert_path(key)):
            openssl("genrsa", "-out", cert_path(key), "2048")
    for ca, subject in (("ca", "/CN=10.152.183.1"), ("front-proxy-ca", "/CN=front-proxy-ca")):
        if not os.path.exists(cert_path(ca + ".crt")):
            openssl("req", "-x509", "-new", "-sha256", "-nodes", "-days", "3650", "-key", cert_path(ca + ".key"),
                    "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", cert_path(ca + ".crt"))
    if cluster_ca:
        import shutil
        os.makedirs(lab.path("cluster-ca"), exist_ok=True)
        for name in ("ca.crt", "ca.key"):
            shutil.copy(cert_path(name), os.path.join(lab.path("cluster-ca"), name))
    render_csr_conf(lab.address)
    days = lifetimes(lab)
    for cert in ("server.crt", "front-proxy-client.crt"):
        sign(cert, days(cert))


def join_certs(lab):
    """A joining node takes the cluster's CA and signs its server certificate with it."""
    import shutil
    if not os.path.isdir(lab.path("cluster-ca")):
        return
    os.makedirs(CERTS_DIR, exist_ok=True)
    for name in ("ca.crt", "ca.key"):
        shutil.copy(os.path.join(lab.path("cluster-ca"), name), cert_path(name))
    produce_certs(lab)


def cert_end(path):
    """The certificate's end (`openssl x509 -enddate -noout`), as a UTC datetime."""
    import datetime
    text = openssl("x509", "-enddate", "-noout", "-in", path).strip().split("=", 1)[1]
    return datetime.datetime.strptime(" ".join(text.split()), "%b %d %H:%M:%S %Y GMT").replace(
        tzinfo=datetime.timezone.utc)


def restart_services(lab, services):
    """`snapctl restart microk8s.daemon-<service>` (refresh_certs.py's restart()): kubelite runs the
    API server and the kubelet, so for `cert_restart` seconds (default 1) the node is NotReady, its
    API refuses and its ELMA365 web endpoint is closed; the datastore (k8s-dqlite) stays."""
    for service in services:
        print("Restarting service %s." % service)
        sys.stdout.flush()
    with lab as st:
        ns = lab.node_state(st)
        was_up = bool(ns.get("up"))
        ns["restarting"] = {"pid": os.getpid(), "since": time.time()}
        ns["up"] = False
        lab.save(st)
    try:
        lab.sleep("cert_restart", 1.0)
    finally:
        with lab as st:
            ns = lab.node_state(st)
            ns.pop("restarting", None)
            ns["up"] = was_up and not ns.get("stopped")
            lab.save(st)


def undo_refresh(lab):
    """refresh_certs.py's undo_refresh(): certs-backup/certs back in place, MicroK8s restarted."""
    import shutil
    for name in os.listdir(os.path.join(CERTS_BACKUP, "certs")):
        shutil.copy(os.path.join(CERTS_BACKUP, "certs", name), cert_path(name))
    print("Restarting, please wait.")
    sys.stdout.flush()
    restart_services(lab, [])


def mk_refresh_certs(lab, args):
    """`microk8s refresh-certs [-c | -u | -e <cert> | CA_DIR]` as scripts/wrappers/refresh_certs.py
    does it: messages and exit codes (1 no backup, 2 two options, 3 no --cert, 4 a failed check,
    50 not root); `-e` backs up certs/ into certs-backup/, re-signs the certificate for 365 days and
    restarts the services it names; `-u` puts the backup back and restarts MicroK8s. Fault
    refresh_certs_fail (a node's name): `-e` fails to sign, puts the backup back, exits 20."""
    import datetime
    import shutil
    check = undo = helped = False
    cert = ca_dir = None
    rest = list(args)
    while rest:
        a = rest.pop(0)
        if a in ("-c", "--check"):
            check = True
        elif a in ("-u", "--undo"):
            undo = True
        elif a in ("-h", "--help"):
            helped = True
        elif a in ("-e", "--cert") or a.startswith("--cert="):
            cert = a.split("=", 1)[1] if "=" in a else (rest.pop(0) if rest else None)
            if cert not in CERT_NAMES:
                raise Fail("Usage: microk8s refresh-certs [OPTIONS] [CA_DIR]\nTry 'microk8s refresh-certs -h' for help.\n\n"
                           "Error: Invalid value for '-e' / '--cert': '%s' is not one of %s."
                           % (cert, ", ".join("'%s'" % c for c in CERT_NAMES)), rc=2)
        else:
            ca_dir = a
    if helped:
        print("Usage: microk8s refresh-certs [OPTIONS] [CA_DIR]")
        return 0
    if ca_dir is not None and (undo or check or cert):
        print("Please do not set any options in combination with the CA_DIR.")
        return 1
    if sum(bool(op) for op in (undo, check, cert)) > 1:
        print("Please select only one of the options -c, -u or -e.")
        return 2
    if os.geteuid() != 0:
        print("Elevated permissions is needed for this operation. Please run this command with sudo.")
        return 50
    if check:
        now = datetime.datetime.now(datetime.timezone.utc)
        for name, what in CERT_NAMES.items():
            try:
                end = cert_end(cert_path(name))
            except OSError as e:
                print("Failed to get certificate info. %s" % e)
                return 4
            print("The %s certificate will expire in %d days." % (what, (end - now).days))
        return 0
    if undo:
        if not os.path.exists(CERTS_BACKUP):
            print("No previous backup found")
            return 1
        undo_refresh(lab)
        return 0
    if ca_dir is not None:
        raise Fail("lab: 'microk8s refresh-certs CA_DIR' (a CA of your own) is not simulated")
    if not cert:
        print("Please use the '--cert' flag to select the certificate you need refreshed.\n\n"
              "Available certificate options:\n'server.crt': refreshes the server certificate\n"
              "'front-proxy-client.crt': refreshes the front proxy client certificate\n"
              "'ca.crt': refreshes the root CA and all certificates created from it.\n"
              "            Warning: refreshing the root CA requires nodes to leave and re-join the cluster")
        return 3
    print("Taking a backup of the current certificates under %s" % CERTS_BACKUP)
    shutil.rmtree(os.path.join(CERTS_BACKUP, "certs"), ignore_errors=True)
    os.makedirs(CERTS_BACKUP, exist_ok=True)
    shutil.copytree(CERTS_DIR, os.path.join(CERTS_BACKUP, "certs"))
    print("Creating new certificates")
    sys.stdout.flush()
    try:
        if lab.faults().get("refresh_certs_fail") == lab.node:
            raise OSError("openssl x509: lab fault refresh_certs_fail")
        render_csr_conf(lab.address)   # refresh_csr_conf
        if cert == "ca.crt":
            os.unlink(cert_path("ca.crt"))
            produce_certs(lab)
        else:
            sign(cert, 365)
    except OSError:
        # refresh_cert(): a failed openssl is a CalledProcessError there: the backup goes back, MicroK8s restarts
        print("Failed to produce new certificates. Reverting.")
        undo_refresh(lab)
        return 20
    if cert == "ca.crt":
        print("Creating new kubeconfig file")
        restart_services(lab, ["kubelite", "cluster-agent"])
        print("\nThe CA certificates have been replaced. Kubernetes will restart the pods of your workloads.\n"
              "Any worker nodes you may have in your cluster need to be removed and re-joined to become aware of the new CA.\n")
        return 0
    restart_services(lab, ["kubelite", "cluster-agent"] if cert == "server.crt" else ["kubelite"])
    return 0


# --------------------------------------------------------------------------
# snap
# --------------------------------------------------------------------------

def snap(lab, args):
    if len(args) >= 2 and args[0] == "install":
        names = [a for a in args[1:] if not a.startswith("-")]
        opts = [a for a in args[1:] if a.startswith("-")]
        channel = None
        for i, a in enumerate(args):
            if a.startswith("--channel="):
                channel = a.split("=", 1)[1]
            elif a == "--channel" and i + 1 < len(args):
                channel = args[i + 1]
                if channel in names:
                    names.remove(channel)
        if names != ["microk8s"]:
            raise Fail('error: snap %s not found (the lab only simulates "microk8s")' % " ".join(names))
        if "--classic" not in opts:
            raise Fail('error: This revision of snap "microk8s" was published using classic confinement and '
                       'thus may perform arbitrary system changes outside of the security sandbox that snaps '
                       'are usually confined to, which may put your system at risk.\n\n'
                       'If you understand and want to proceed repeat the command including --classic.')
        dst = os.path.join(BIN_DIR, "microk8s")
        if os.path.exists(dst):
            print('snap "microk8s" is already installed, see \'snap help refresh\'')
            return 0
        if channel and channel not in CHANNELS:
            raise Fail('error: requested channel "%s" is not available for snap "microk8s"' % channel)
        lab.sleep("snap_install")
        os.makedirs(BIN_DIR, exist_ok=True)
        copy_self(dst)
        os.chmod(dst, 0o755)
        produce_certs(lab)   # the snap's install hook
        lab.datastore.install()
        lab.datastore.start()   # a lone MicroK8s: a datastore of its own
        with lab as st:
            lab.node_state(st)["microk8s"] = channel or "latest/stable"
            lab.node_state(st).pop("revision", None)
            lab.save(st)
        print("microk8s (%s) %s from Canonical** installed" % (channel or "latest/stable",
                                                               CHANNELS[channel or "latest/stable"][0]))
        return 0
    if args[:1] == ["refresh"]:
        return snap_refresh(lab, args[1:])
    if args[:1] == ["list"]:
        return snap_list(lab, args[1:])
    if args[:1] == ["version"]:
        return snap_version(lab)
    if args[:1] in (["get"], ["set"], ["unset"]):
        return snap_config(lab, args[0], args[1:])
    raise Fail("error: the lab only simulates 'snap install microk8s --classic --channel=...', 'snap refresh "
               "[microk8s] [--channel=...|--hold[=<duration>]|--unhold]', 'snap list', 'snap version' and "
               "'snap get|set|unset system ...'")


DEFAULT_SNAPD = "2.63+22.04"   # Ubuntu 22.04's snapd; the fault snapd_version plays another
HOLD_SINCE = (2, 58)            # snapd 2.58 added `snap refresh --hold/--unhold` (and `held` in snap list)


def snapd_version(lab):
    """The snapd this node runs: the fault snapd_version (one for every node, or {node: version})."""
    v = lab.faults().get("snapd_version") or DEFAULT_SNAPD
    if isinstance(v, dict):
        v = v.get(lab.node) or DEFAULT_SNAPD
    return str(v)


def snapd_at_least(lab, wanted):
    numbers = tuple(int(x) for x in re.findall(r"\d+", snapd_version(lab).split("+")[0])[:3])
    return numbers >= wanted


def snap_version(lab):
    """`snap version` as snapd prints it (a tabwriter's columns)."""
    v = snapd_version(lab)
    print("snap    %s\nsnapd   %s\nseries  16\nubuntu  22.04\nkernel  5.15.0-lab" % (v, v))
    return 0


def microk8s_installed():
    return os.path.exists(os.path.join(BIN_DIR, "microk8s"))


def held(ns, now=None):
    """Whether `snap refresh --hold` holds this node's MicroK8s now (forever, or until a time)."""
    hold = ns.get("hold")
    return hold == "forever" or (isinstance(hold, (int, float)) and hold > (now or time.time()))


def snap_list(lab, args):
    installed = microk8s_installed()
    if args and (args != ["microk8s"] or not installed):
        raise Fail("error: no matching snaps installed")
    print("Name      Version   Rev   Tracking       Publisher   Notes")
    if installed:
        st = lab.load()
        version, revision = installed_of(st, lab.node)
        notes = "classic" + (",held" if held(lab.node_state(st)) and snapd_at_least(lab, HOLD_SINCE) else "")
        print("microk8s  %-8s  %s  %-14s canonical** %s" % (version, revision, channel_of(st, lab.node), notes))
    return 0


GO_DURATION = re.compile(r"((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|ms|s|m|h))+")
GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration(text):
    """Seconds of a Go duration (`72h`, `1h30m`, `90s`), as time.ParseDuration reads it; None if not one."""
    if not GO_DURATION.fullmatch(text):
        unit = re.match(r"(?:\d+(?:\.\d*)?|\.\d+)([^\d.]+)", text)
        if unit:
            raise Fail('error: hold value must be a number of hours, minutes or seconds, or "forever": '
                       'time: unknown unit "%s" in duration "%s"' % (unit.group(1), text))
        return None
    return sum(float(n) * GO_UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)", text))


def rfc3339(epoch):
    offset = -time.altzone if time.localtime(epoch).tm_isdst > 0 else -time.timezone
    zone = "Z" if offset == 0 else "%s%02d:%02d" % ("+" if offset > 0 else "-", abs(offset) // 3600, abs(offset) % 3600 // 60)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch)) + zone


def snap_hold(lab, hold, names):
    """`snap refresh --hold[=<duration>] [microk8s]` (snapd 2.58+, cmd/snap/cmd_snap_op.go): with no
    duration, forever. With the snap named, its refreshes are held (and `snap list` says `held`);
    with no snap, the auto-refresh of all of them (the old refresh.hold option's job)."""
    if hold == "forever":
        until, when = "forever", "indefinitely"
    else:
        seconds = go_duration(hold)
        if seconds is None:
            raise Fail('error: hold value must be a number of hours, minutes or seconds, or "forever": '
                       'time: invalid duration "%s"' % hold)
        if seconds < 1:
            raise Fail("error: cannot hold refreshes for less than a second: %s" % hold)
        until = time.time() + seconds
        when = "until %s" % rfc3339(until)
    with lab as st:
        ns = lab.node_state(st)
        if names:
            ns["hold"] = until
        else:
            ns["holdAll"] = until
        lab.save(st)
    if names:
        print('General refreshes of "microk8s" held %s' % when)
    else:
        print("Auto-refresh of all snaps held %s" % when)
    return 0


def snap_unhold(lab, names):
    with lab as st:
        lab.node_state(st).pop("hold" if names else "holdAll", None)
        lab.save(st)
    print('Removed general refresh hold of "microk8s"' if names else "Removed auto-refresh hold on all snaps")
    return 0


def snap_refresh(lab, args):
    """`snap refresh [microk8s] [--channel=<ch>]`, `--hold[=<duration>]`, `--unhold`."""
    channel, names, hold, unhold, rest = None, [], None, False, list(args)
    while rest:
        a = rest.pop(0)
        if a.startswith("--channel="):
            channel = a.split("=", 1)[1]
        elif a == "--channel" and rest:
            channel = rest.pop(0)
        elif a == "--hold" or a.startswith("--hold="):
            hold = a.split("=", 1)[1] if "=" in a else "forever"
        elif a == "--unhold":
            unhold = True
        elif a == "--classic":
            pass
        elif a.startswith("-"):
            raise Fail("error: the lab does not simulate snap refresh's %s" % a)
        else:
            names.append(a)
    if (hold or unhold) and not snapd_at_least(lab, HOLD_SINCE):
        # an older snapd has no such flags: go-flags' own error
        raise Fail("error: unknown flag `%s'" % ("hold" if hold else "unhold"))
    if hold and unhold:
        raise Fail("error: cannot use --hold with other flags")
    if channel is not None and not names and not (hold or unhold):
        raise Fail("error: a single snap name is needed to specify channel flags")
    for name in names:
        if name != "microk8s":
            raise Fail('error: snap "%s" is not installed (the lab only simulates "microk8s")' % name)
        if not microk8s_installed():
            raise Fail('error: snap "microk8s" is not installed')
    if hold:
        return snap_hold(lab, hold, names)
    if unhold:
        return snap_unhold(lab, names)
    if channel is not None and channel not in REVISIONS:
        raise Fail('error: requested channel "%s" is not available for snap "microk8s"' % channel)
    if not names:
        # every snap that is not held (snapd's general hold keeps a held snap out of `snap refresh`)
        if not microk8s_installed() or held(lab.node_state(lab.load())):
            sys.stderr.write("All snaps up to date.\n")
            return 0
    return refresh_microk8s(lab, channel)


def fault_names(value, node):
    """A node fault given as one node's name or a list of them."""
    return node == value or (isinstance(value, list) and node in value)


def refresh_microk8s(lab, channel):
    """A refresh of MicroK8s on this node, as snapd makes it: to the newest revision of the channel it
    tracks (none newer: "no updates available", nothing restarts), or to the channel asked for. For
    `snap_refresh` seconds (default 1) the snap's services are down: MicroK8s is not running (status,
    kubectl), the node is NotReady and its datastore away from the voters, and its ELMA365 web
    endpoint closed. Faults: refresh_fail (snapd's error, the old revision back), refresh_stuck (the
    new revision, but the node never comes back: NotReady until `microk8s start`)."""
    # snapd finishes a change its client left (ssh cut, SIGTERM): so does the lab, at once
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    with lab as st:
        ns = lab.node_state(st)
        current_channel, (_, current_revision) = channel_of(st, lab.node), installed_of(st, lab.node)
        target = channel or current_channel
        if target == current_channel:
            newer = [r for r in REVISIONS[target] if int(r[1]) > int(current_revision)]
            if not newer:
                sys.stderr.write('snap "microk8s" has no updates available\n')
                return 0
            version, revision = newer[-1]
        else:
            version, revision = REVISIONS[target][0]
        if live_marker(ns.get("refreshing")):
            raise Fail('error: snap "microk8s" has "refresh-snap" change in progress')
        was_up = bool(ns.get("up")) or (bool(ns.get("stuck")) and lab.node in st["members"])
        ns["refreshing"] = {"pid": os.getpid(), "since": time.time(), "to": [target, revision]}
        ns["up"] = False
        ns.pop("stuck", None)
        lab.save(st)
    faults = lab.faults()
    failed = fault_names(faults.get("refresh_fail"), lab.node)
    stuck = fault_names(faults.get("refresh_stuck"), lab.node)
    try:
        # snapd stops the snap's services for the refresh, k8s-dqlite among them (a signal while
        # it waits for dqlite to exit still finishes the change)
        lab.datastore.stop()
        lab.sleep("snap_refresh", 1.0)
    finally:
        with lab as st:
            ns = lab.node_state(st)
            if (ns.get("refreshing") or {}).get("pid") == os.getpid():
                ns.pop("refreshing")
            if not failed:
                ns["microk8s"], ns["revision"] = target, revision
                copy_self(os.path.join(BIN_DIR, "microk8s"))   # the new revision's files
            if stuck and not failed:
                ns["stuck"] = True
            else:
                ns["up"] = was_up and not ns.get("stopped")
            lab.save(st)
            back = not ns.get("stuck") and not ns.get("stopped")
        if back:
            lab.datastore.start()
    if failed:
        unit = "snap.microk8s.daemon-kubelite.service"
        raise Fail('error: cannot perform the following tasks:\n'
                   '- Start snap "microk8s" (%s) services (systemctl command [start %s] failed with exit status 1: '
                   'Job for %s failed because the control process exited with error code.\n'
                   'See "systemctl status %s" and "journalctl -xeu %s" for details.\n)'
                   % (revision, unit, unit, unit, unit))
    print("microk8s (%s) %s from Canonical** refreshed" % (target, version))
    return 0


def interrupted(signum, frame):
    raise KeyboardInterrupt


def snap_config(lab, verb, args):
    """`snap get|set|unset system <key>...`: the system options, stored per node as given (snapd checks
    refresh.hold: "forever" or an RFC 3339 time; the lab does the same)."""
    if not args or args[0] not in ("system", "core"):
        raise Fail("error: the lab only simulates 'snap %s system ...'" % verb)
    keys = args[1:]
    if not keys:
        raise Fail("error: the required argument `<conf value>` was not provided" if verb != "get" else
                   "error: the lab only simulates 'snap get system <key>'")
    with lab as st:
        options = lab.node_state(st).setdefault("system", {})
        if verb == "get":
            missing = [k for k in keys if k not in options]
            if missing:
                raise Fail('error: snap "core" has no "%s" configuration option' % missing[0])
            if len(keys) == 1:
                print(options[keys[0]])
            else:
                print("Key%s  Value" % (" " * max(0, max(map(len, keys)) - 3)))
                for k in keys:
                    print("%-*s  %s" % (max(3, max(map(len, keys))), k, options[k]))
            return 0
        for item in keys:
            key, eq, value = item.partition("=")
            if verb == "set" and not eq:
                raise Fail('error: invalid configuration: "%s" (want key=value)' % item)
            if verb == "set" and key == "refresh.hold" and value and value != "forever" and not re.fullmatch(
                    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
                raise Fail('error: cannot perform the following tasks:\n- Run configure hook of "core" snap '
                           '(refresh.hold cannot be parsed: parsing time "%s" as "2006-01-02T15:04:05Z07:00": '
                           'cannot parse "%s" as "2006")' % (value, value))
            if verb == "unset" or not value:
                options.pop(key, None)
            else:
                options[key] = value
        lab.save(st)
    return 0


def auto_held(lab, ns):
    """Whether snapd's auto-refresh leaves MicroK8s alone: its own hold, a hold of all snaps, or the
    system option refresh.hold (forever, or a time still to come)."""
    now = time.time()
    if held(ns, now) or held({"hold": ns.get("holdAll")}, now):
        return True
    option = ns.get("system", {}).get("refresh.hold")
    if option == "forever":
        return True
    if option:
        import datetime
        try:
            return datetime.datetime.fromisoformat(option.replace("Z", "+00:00")).timestamp() > now
        except ValueError:
            return False
    return False


def snapd_boot(lab):
    """At boot, snapd starts the services of the installed snaps that `microk8s stop` did not
    disable: MicroK8s' datastore (none on a worker, none while a refresh left it stuck)."""
    st = lab.load()
    ns = st["nodes"].get(lab.node, {})
    if microk8s_installed() and lab.node not in st["workers"] and not ns.get("stopped") and not ns.get("stuck"):
        lab.datastore.start()
    return 0


def snapd(lab, args):
    """`snapd auto-refresh` (lab only, lab/sim/snapd): what snapd's refresh timer does on its own, to
    MicroK8s on this node: nothing while refreshes are held, else a refresh within its channel."""
    if args == ["boot"]:
        return snapd_boot(lab)
    if args != ["auto-refresh"]:
        raise Fail("usage: snapd auto-refresh|boot (the lab's stand-in for snapd's refresh timer and for its "
                   "start of the snaps' services at boot)")
    if not microk8s_installed():
        print("auto-refresh: microk8s is not installed")
        return 0
    if auto_held(lab, lab.node_state(lab.load())):
        print("auto-refresh: microk8s held")
        return 0
    return refresh_microk8s(lab, None)


# --------------------------------------------------------------------------

def main(argv):
    start = process_start_time()
    prog = os.path.basename(argv[0])
    args = argv[1:]
    lab = None
    rc = 1
    try:
        lab = Lab()
        if prog == "elma365ctl":
            rc = elma365ctl(lab, args)
        elif prog == "microk8s":
            rc = microk8s(lab, args)
        elif prog == "snap":
            rc = snap(lab, args)
        elif prog == "snapd":
            rc = snapd(lab, args)
        else:
            rc = installer(lab, args)
    except Fail as e:
        sys.stdout.flush()
        sys.stderr.write(e.message.rstrip("\n") + "\n")
        rc = e.rc
    except KeyboardInterrupt:
        rc = 130
    except Exception as e:
        if type(e).__name__ != "DatastoreError":
            raise
        sys.stdout.flush()
        sys.stderr.write("%s\n" % e)
        rc = 1
    finally:
        if lab is not None:
            try:
                lab.journal({"start": start, "end": time.time(), "node": lab.node,
                             "argv": [prog] + redact(args), "rc": rc})
            except OSError as e:
                sys.stderr.write("elma365 lab: cannot write journal: %s\n" % e)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
