# a place for the main node's datastore backups: the receiving script, and the main node's backup key
# authorized for it alone (a forced command, no shell, no forwarding); prints this host's SSH host keys
# as its own sshd answers on {{address_text}} port {{port}}, for the main node to pin
{{ensure_keyscan}}
key=$(head -n 1)
if ! [[ $key =~ ^ssh-ed25519\ [A-Za-z0-9+/=]+\ [A-Za-z0-9@._-]+$ ]]; then
  echo "ERROR: the main node's backup key is not an ssh-ed25519 public key" >&2
  exit 1
fi
mkdir -p {{state_dir}}
cat > {{receive}}.tmp <<'ELMA365_BACKUP_RECEIVE'
{{receive_script}}
ELMA365_BACKUP_RECEIVE
chown root: {{receive}}.tmp && chmod 700 {{receive}}.tmp && mv -f {{receive}}.tmp {{receive}}
user=${SUDO_USER:-$(id -un)}
home=$(getent passwd "$user" | cut -d: -f6)
mkdir -p "$home/.ssh"
chown "$user": "$home/.ssh" && chmod 700 "$home/.ssh"
keys="$home/.ssh/authorized_keys"
touch "$keys"
# the line of this site's main node (the key's comment names it) replaced, any other site's kept
{ awk -v comment="${key##* }" '$NF != comment' "$keys"
  printf 'restrict,command="%s \\"$SSH_ORIGINAL_COMMAND\\"" %s\n' {{forced_command}} "$key"; } > "$keys.elma365.tmp"
chown "$user": "$keys.elma365.tmp" && chmod 600 "$keys.elma365.tmp" && mv -f "$keys.elma365.tmp" "$keys"
host_keys=$(timeout 30 ssh-keyscan -p {{port}} {{address}} 2>/dev/null | grep -v '^#' | sort) || host_keys=""
if [ -z "$host_keys" ]; then
  echo "ERROR: no SSH host key answered on {{address_text}} port {{port}} from this host itself: the main node could not pin it to copy datastore backups here" >&2
  exit 1
fi
printf '%s\n' "$host_keys"
