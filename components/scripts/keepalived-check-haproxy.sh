#!/bin/bash
# keepalived's health check of this balancer (written by elma365-cluster): HAProxy runs and accepts
# connections on the web port. A balancer that fails it goes to FAULT and gives up the virtual IP.
port={{port}}
exec 3<>"/dev/tcp/127.0.0.1/$port"
