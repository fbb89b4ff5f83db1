#!/usr/bin/python3
"""Web endpoint of one simulated ELMA365 node.

usage: web.py <node> <address> <port> <state-dir>

Listens on <address>:<port> only while $state/cluster.json says this node's
ELMA365 is up (nodes.<node>.up); the listening socket is closed while the node
is down so that connections are refused.  The state is polled every ~100 ms.
Answers HEAD / and GET / with 200 and a body naming the node.
"""
import http.server
import json
import os
import signal
import sys

NODE, ADDRESS, PORT, STATE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "elma365-lab"
    protocol_version = "HTTP/1.0"

    def _answer(self, body):
        data = ("ELMA365 lab node %s\n" % NODE).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Elma365-Node", NODE)
        self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def log_message(self, fmt, *args):
        pass


def is_up():
    try:
        with open(os.path.join(STATE, "cluster.json")) as f:
            st = json.load(f)
        return bool(st.get("nodes", {}).get(NODE, {}).get("up"))
    except (OSError, ValueError):
        return False


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    server = None
    while True:
        up = is_up()
        if up and server is None:
            try:
                server = http.server.HTTPServer((ADDRESS, PORT), Handler)
                server.timeout = 0.1
            except OSError as e:
                sys.stderr.write("web %s: cannot listen on %s:%d: %s\n" % (NODE, ADDRESS, PORT, e))
                server = None
                import time
                time.sleep(0.5)
                continue
        elif not up and server is not None:
            server.server_close()
            server = None
        if server is not None:
            server.handle_request()      # returns after <= 0.1 s
        else:
            import time
            time.sleep(0.1)


if __name__ == "__main__":
    main()
