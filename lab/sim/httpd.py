#!/usr/bin/python3
"""Serves the simulated installer download.

usage: httpd.py <www-dir> <port-file>

Binds 127.0.0.1 on a free port, writes the port number to <port-file> and
serves files from <www-dir> (e.g. /onPremise/master/latest/download).
"""
import functools
import http.server
import os
import signal
import sys

www, port_file = sys.argv[1], sys.argv[2]


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=www))
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.replace(tmp, port_file)
server.serve_forever()
