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
# a lone MicroK8s lists only 127.0.0.1 as its datastore; a cluster member lists the members' addresses
if command -v microk8s >/dev/null 2>&1 \
   && microk8s status 2>/dev/null | grep -E 'datastore master nodes:' | grep -vE 'nodes: *127\.0\.0\.1:19001 *$' >/dev/null; then
  echo "ERROR: {{main_text}} is already a member of a MicroK8s cluster; the installer never runs on a cluster member. If {{main_text}} is not the node ELMA365 was installed on, put that node first in elma365:nodes" >&2
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
