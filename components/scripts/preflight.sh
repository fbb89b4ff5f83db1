# os: ID and VERSION_ID of /etc/os-release against the supported list
os_id=""; os_version=""
if [ -r /etc/os-release ]; then
  os_id=$( . /etc/os-release >/dev/null 2>&1; printf '%s' "${ID:-}" ) || os_id=""
  os_version=$( . /etc/os-release >/dev/null 2>&1; printf '%s' "${VERSION_ID:-}" ) || os_version=""
fi
os_ok=""
for entry in {{supported_os}}; do
  want_id=${entry%%:*}; want_version=""
  case $entry in *:*) want_version=${entry#*:} ;; esac
  [ "$os_id" = "$want_id" ] || continue
  if [ -z "$want_version" ] || [ "$os_version" = "$want_version" ]; then os_ok=1; break; fi
  case $os_version in "$want_version".*) os_ok=1; break ;; esac
done
if [ -z "$os_id" ]; then
  report os fail "cannot read ID from /etc/os-release"
elif [ -n "$os_ok" ]; then
  report os ok "$os_id:$os_version"
else
  report os fail "$os_id:$os_version is not in preflight.supportedOs ({{supported_os_text}})"
fi

# arch
arch=$(uname -m 2>/dev/null) || arch=unknown
if [ "$arch" = x86_64 ]; then report arch ok "$arch"; else report arch fail "$arch (x86_64 is required)"; fi

# cpu
cores=$(nproc 2>/dev/null) || cores=0
if [ "$cores" -ge {{min_cpu_cores}} ]; then report cpu ok "$cores cores"
else report cpu fail "$cores cores, at least {{min_cpu_cores}} required (preflight.minCpuCores)"; fi

# memory
mem_kib=$(awk '/^MemTotal:/ {print $2; exit}' /proc/meminfo 2>/dev/null) || mem_kib=0
mem_kib=${mem_kib:-0}
mem_mib=$((mem_kib / 1024))
if [ "$mem_kib" -ge {{min_memory_kib}} ]; then report memory ok "$mem_mib MiB"
else report memory fail "$mem_mib MiB, at least {{min_memory_gib}} GiB required (preflight.minMemoryGiB)"; fi

# disk: free space where the data goes (the nearest existing directory of the path)
dir={{disk_path}}
while [ ! -d "$dir" ] && [ "$dir" != / ]; do dir=$(dirname "$dir"); done
free_kib=$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 {print $4}') || free_kib=""
if [ -z "$free_kib" ]; then
  report disk fail "cannot read the free space of $dir"
elif [ "$free_kib" -ge {{min_free_disk_kib}} ]; then
  report disk ok "$((free_kib / 1048576)) GiB free on $dir"
else
  report disk fail "$((free_kib / 1048576)) GiB free on $dir, at least {{min_free_disk_gib}} GiB required (preflight.minFreeDiskGiB)"
fi

# hostname: Kubernetes names the node after it, and the program finds the node by its name in
# nodes[]; those names are unique, so equal hostnames are unique across the site too.
host=$(hostname 2>/dev/null) || host=""
host_lc=$(printf '%s' "$host" | tr 'A-Z' 'a-z')
if [ "$host_lc" = "$node" ]; then report hostname ok "$host"
else report hostname fail "the hostname is '$host', the site config names this node '$node' (they must be equal: Kubernetes names the node after its hostname)"; fi
if [ -n "$host" ] && resolved=$(getent hosts "$host" 2>/dev/null | awk '{print $1; exit}') && [ -n "$resolved" ]; then
  report hostname-resolves ok "$host -> $resolved"
else
  report hostname-resolves fail "'$host' does not resolve on this node (add it to /etc/hosts or DNS)"
fi

# clock: the offset chrony or systemd-timesyncd reports; "cannot tell" is a warning, not a failure
to_ms() { # 1.5ms, -20us, +0.002s, 3min -> absolute milliseconds (integer)
  printf '%s\n' "$1" | awk '{ v = $1; sub(/^[+-]/, "", v); n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n = n / 1000; else if (u == "s" || u == "") n = n * 1000; else if (u == "min") n = n * 60000
    else if (u == "ns") n = n / 1000000
    printf "%d", n }'
}
max_offset={{max_clock_offset_ms}}
if command -v chronyc >/dev/null 2>&1 && tracking=$(timeout 2 chronyc -n tracking 2>/dev/null); then
  seconds=$(printf '%s\n' "$tracking" | awk -F': *' '/^System time/ {split($2, a, " "); print a[1]; exit}')
  leap=$(printf '%s\n' "$tracking" | awk -F': *' '/^Leap status/ {print $2; exit}')
  if [ "$leap" = "Not synchronised" ] || [ -z "$seconds" ]; then
    report clock fail "chrony is not synchronised"
  else
    ms=$(to_ms "${seconds}s")
    if [ "$ms" -le "$max_offset" ]; then report clock ok "chrony offset ${ms} ms"
    else report clock fail "chrony offset ${ms} ms, at most $max_offset ms allowed (preflight.maxClockOffsetMs)"; fi
  fi
elif command -v timedatectl >/dev/null 2>&1 && synced=$(timeout 2 timedatectl show -p NTPSynchronized --value 2>/dev/null) && [ -n "$synced" ]; then
  if [ "$synced" != yes ]; then
    report clock fail "systemd-timesyncd: the clock is not NTP-synchronized"
  else
    offset=$(timeout 2 timedatectl timesync-status 2>/dev/null | awk -F': *' '$1 ~ /Offset$/ {print $2; exit}') || offset=""
    if [ -z "$offset" ]; then report clock ok "NTP-synchronized (no offset reported)"
    else
      ms=$(to_ms "$offset")
      if [ "$ms" -le "$max_offset" ]; then report clock ok "timesyncd offset $offset"
      else report clock fail "timesyncd offset $offset, at most $max_offset ms allowed (preflight.maxClockOffsetMs)"; fi
    fi
  fi
else
  report clock warn "cannot tell: neither chronyc tracking nor timedatectl answered; make sure the clocks are synchronized"
fi

{{ports_section}}
# sudo
{{sudo_check}}
