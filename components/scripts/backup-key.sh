# the main node's own key for copying datastore backups to the other places (its public half is printed)
{{ensure_keygen}}
mkdir -p {{key_dir}} && chown root: {{key_dir}} && chmod 700 {{key_dir}}
if [ ! -s {{key}} ] || [ ! -s {{key}}.pub ]; then   # none yet, or an interrupted ssh-keygen
  rm -f {{key}} {{key}}.pub
  ssh-keygen -q -t ed25519 -N '' -C {{comment}} -f {{key}} >/dev/null
fi
chmod 600 {{key}}
cat {{key}}.pub
