IFS= read -r want || true
applied={{applied_dir}}/settings
{{detached}}
installed() { [ -f {{installed_marker}} ] && command -v elma365ctl >/dev/null 2>&1; }
if installed; then
  echo "ELMA365 is already installed on {{main_text}}; nothing to do"
  exit 0
fi
if waited_for_earlier installer && installed; then
  echo "ELMA365 was installed on {{main_text}} by the run an earlier session started"
  exit 0
fi
# what runs here, read again now (the preflight's facts may be older): never install over a live
# ELMA365 or into a MicroK8s cluster
{{facts}}
if [ "$elma365" = present ]; then
{{on_live_elma365}}
fi
if [ "$elma365" = unknown ]; then
  echo "ERROR: MicroK8s is installed on {{main_text}} but does not answer (microk8s status), so whether ELMA365 runs here cannot be told and the installer does not run: start it (microk8s start) and run pulumi up again" >&2
  exit 1
fi
if [ "$membership" = member ]; then
  echo "ERROR: {{main_text}} is a member of a MicroK8s cluster (datastore $datastore); the installer never runs on a cluster member. If ELMA365 runs on another member, put that node first in elma365:nodes" >&2
  exit 1
fi
umask 077
driver="$runs/installer.exp"
cat > "$driver"
{{ensure_expect}}
{{ensure_curl}}
mkdir -p {{work_dir}} {{applied_dir}}
curl -fsSL --retry 3 -o {{installer}}.part {{installer_url}}
chmod 700 {{installer}}.part
mv -f {{installer}}.part {{installer}}
# the answers (in the driver) are removed when the installer ends, however the step ends
# shellcheck disable=SC2016
run_detached installer bash -c 'trap "rm -f \"\$1\"" EXIT; expect -f "$1" -- "$2" -e "$3" && touch "$4" && printf "%s\n" "$5" > "$6"' \
  installer "$driver" {{installer}} {{edition}} {{installed_marker}} "$want" "$applied"
echo "ELMA365 ({{edition_text}}) installed on {{main_text}}"
