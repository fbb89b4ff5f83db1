"""The lab's datastore: one real dqlite node per lab node (Debian's go-dqlite: `dqlite-demo`, an
application of go-dqlite's `app` package as MicroK8s' k8s-dqlite is, and the `dqlite` shell).

MicroK8s keeps its dqlite in /var/snap/microk8s/current/var/kubernetes/backend (cluster.yaml,
info.yaml, metadata1/2, segments) and serves it on <address>:19001; so does the lab, in each node's
private /var/snap. `dqlite-demo -D <dir>` keeps its data in `<dir>/<db address>/`: that folder is a
link to the backend folder, so the backend holds the files MicroK8s' recovery procedure works on.
go-dqlite's `app` assigns the roles as in MicroK8s: 3 voters, up to 3 standbys, the rest spare.

What the lab's datastore does not have: TLS (no cluster.crt/cluster.key: the demo has no flags for
them) and the `k8s` database (the demo's key/value table `model` in the database `demo` stands for
what Kubernetes stores; its HTTP API, PUT/GET /<key> on <address>:19080, writes and reads it).

The simulated `microk8s` (elma365sim.py) reads and changes the membership only through this module;
Standard library only, as the simulator.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

PORT = 19001
API_PORT = 19080
SNAP_DATA = "/var/snap/microk8s/current"
BACKEND = SNAP_DATA + "/var/kubernetes/backend"
DEMO_DIR = SNAP_DATA + "/var/kubernetes/.lab-dqlite"   # dqlite-demo's -D: <DEMO_DIR>/<address>:19001 -> BACKEND
PIDFILE = SNAP_DATA + "/var/kubernetes/.lab-dqlite.pid"
LOG = "/var/snap/microk8s/common/var/log/lab-dqlite.log"
SHELL = "/usr/bin/dqlite"
SNAP_SHELL = "/snap/microk8s/current/bin/dqlite"   # where MicroK8s' recovery runs the dqlite shell from
DEMO = "/usr/bin/dqlite-demo"
CLUSTER_DB = "k8s"   # the database MicroK8s' scripts name in cluster commands (.cluster, .remove, .reconfigure)
DATA_DB = "demo"     # the database dqlite-demo keeps its table in
ROLES = {0: "voter", 1: "standby", 2: "spare"}
# MicroK8s' status.py: `dqlite ... .cluster` with timeout=4, tried again while it fails
QUERY_TIMEOUT = 4.0


class DatastoreError(Exception):
    pass


def endpoint(address):
    return "%s:%d" % (address, PORT)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def listening(address, port, timeout=0.2):
    """Whether address:port takes a TCP connection (the lab's harness uses it too)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


class Datastore:
    """This node's dqlite (`address` is the node's cluster address). `servers`: whom to ask instead
    (the lab's harness, which runs on no node)."""

    def __init__(self, address, servers=None):
        self.address = address
        self.endpoint = endpoint(address)
        self._servers = servers

    # -- the process --------------------------------------------------------
    @staticmethod
    def install():
        """The snap's files the datastore's operators use: its dqlite shell (in each node's private /snap)."""
        os.makedirs(os.path.dirname(SNAP_SHELL), exist_ok=True)
        if not os.path.islink(SNAP_SHELL):
            os.symlink(SHELL, SNAP_SHELL)

    def pid(self):
        """The pid of this node's dqlite-demo, None when it does not run."""
        try:
            with open(PIDFILE) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        argv = _cmdline(pid)
        if _alive(pid) and argv[:1] == [DEMO.encode()] and self.endpoint.encode() in argv:
            return pid
        return None

    def running(self):
        return self.pid() is not None

    def serving(self):
        """Whether it serves its data: dqlite-demo (cmd/dqlite-demo) opens its API only after
        `app.Ready` (joined, a leader known), as k8s-dqlite opens kine's endpoint only then."""
        return listening(self.address, API_PORT)

    def start(self, join=None, wait_ready=False, timeout=60.0):
        """Starts this node's dqlite (nothing if it runs): a new node bootstraps a cluster of its own,
        or, with `join` (a member's endpoint), joins that one; a node with data starts as what it was.
        Waits until it listens; `wait_ready`: until it serves its data (it joined, the cluster has a
        leader), else DatastoreError."""
        p = None
        if not self.running():
            os.makedirs(BACKEND, exist_ok=True)
            os.makedirs(DEMO_DIR, exist_ok=True)
            os.makedirs(os.path.dirname(LOG), exist_ok=True)
            link = os.path.join(DEMO_DIR, self.endpoint)
            if not os.path.islink(link):
                if os.path.isdir(link):
                    shutil.rmtree(link)
                os.symlink(os.path.relpath(BACKEND, DEMO_DIR), link)
            argv = [DEMO, "-a", "%s:%d" % (self.address, API_PORT), "-d", self.endpoint, "-D", DEMO_DIR]
            if join:
                argv += ["-j", join]
            with open(LOG, "ab") as log, open(os.devnull, "rb") as null:
                # its own session, nothing of the caller's open: it outlives the ssh session that started it
                p = subprocess.Popen(argv, stdin=null, stdout=log, stderr=log, start_new_session=True, close_fds=True)
            with open(PIDFILE + ".tmp", "w") as f:
                f.write("%d\n" % p.pid)
            os.replace(PIDFILE + ".tmp", PIDFILE)
        deadline = time.time() + timeout
        port = API_PORT if wait_ready else PORT
        while not listening(self.address, port):
            if (p.poll() is not None) if p else not self.running():
                raise DatastoreError("dqlite on %s exited (see %s)" % (self.endpoint, LOG))
            if time.time() > deadline:
                raise DatastoreError("dqlite on %s is not %s after %ds" % (
                    self.endpoint, "serving" if wait_ready else "listening", timeout))
            time.sleep(0.1)

    def stop(self, grace=5.0):
        """Stops this node's dqlite: SIGTERM, then SIGKILL (without a quorum it ignores SIGTERM)."""
        pid = self.pid()
        if pid is not None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.time() + wait
                while _alive(pid) and time.time() < deadline:
                    time.sleep(0.05)
                if not _alive(pid):
                    break
        if os.path.exists(PIDFILE):
            os.unlink(PIDFILE)

    def wipe(self):
        """Stops this node's dqlite and deletes its data (what a join or a leave does to it)."""
        self.stop()
        shutil.rmtree(BACKEND, ignore_errors=True)
        os.makedirs(BACKEND, exist_ok=True)

    # -- the cluster --------------------------------------------------------
    def servers(self, fallback=None):
        """Whom to ask: as MicroK8s does, the servers the node's cluster.yaml knows (`file://`), or
        `fallback` (a member's endpoint) where this node keeps no datastore (a worker)."""
        if self._servers:
            return self._servers
        if os.path.exists(os.path.join(BACKEND, "cluster.yaml")):
            return "file://" + os.path.join(BACKEND, "cluster.yaml")
        return fallback or self.endpoint

    def _shell(self, database, command, servers, timeout, attempts=1):
        """One `dqlite` shell command; None when no leader answered within the time (no quorum, or
        nobody there): the shell itself waits for a leader forever."""
        for attempt in range(attempts):
            try:
                p = subprocess.run([SHELL, "-s", servers, "-f", "json", database, command],
                                   capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
            if p.returncode == 0:
                return p.stdout
            if attempt + 1 < attempts:
                time.sleep(0.5)
            else:
                raise DatastoreError("dqlite %s: %s" % (command, (p.stderr or p.stdout).strip()))
        return None

    def members(self, fallback=None, timeout=QUERY_TIMEOUT, attempts=2):
        """The cluster's members as `.cluster` lists them: [{"ID", "Address", "Role"}] (Role 0 voter,
        1 standby, 2 spare); None when no leader answers (a lost quorum, or no datastore running)."""
        out = self._shell(CLUSTER_DB, ".cluster", self.servers(fallback), timeout, attempts)
        return None if out is None else json.loads(out)

    def remove(self, member, fallback=None, timeout=QUERY_TIMEOUT):
        """`.remove <member endpoint>`, as MicroK8s' leave and remove-node run it. False when no
        leader answered."""
        return self._shell(CLUSTER_DB, ".remove %s" % member, self.servers(fallback), timeout, 2) is not None

    # -- the data -----------------------------------------------------------
    def dump(self, timeout=QUERY_TIMEOUT):
        """Every key and value the datastore holds, {key: value}; None without a leader."""
        out = self._shell(DATA_DB, "SELECT hex(key), hex(value) FROM model ORDER BY key", self.servers(),
                          timeout, 2)
        if out is None:
            return None
        rows = {}
        for line in out.splitlines():
            if "|" in line:
                k, v = line.split("|", 1)
                rows[bytes.fromhex(k).decode()] = bytes.fromhex(v).decode()
        return rows

    def load(self, rows, timeout=QUERY_TIMEOUT):
        """Replaces what the datastore holds with `rows` ({key: value}); False without a leader."""
        return self._run(["DELETE FROM model"] + [_insert(k, v) for k, v in sorted(rows.items())], timeout)

    def put(self, key, value, timeout=QUERY_TIMEOUT):
        """One key set to `value`, the others kept; False without a leader."""
        return self._run(["DELETE FROM model WHERE key = CAST(X'%s' AS TEXT)" % key.encode().hex(),
                          _insert(key, value)], timeout)

    def _run(self, statements, timeout):
        for sql in statements:
            if self._shell(DATA_DB, sql, self.servers(), timeout, 2) is None:
                return False
        return True


def _insert(key, value):
    return ("INSERT INTO model(key, value) VALUES(CAST(X'%s' AS TEXT), CAST(X'%s' AS TEXT))"
            % (key.encode().hex(), value.encode().hex()))
