# where the main node copies its datastore backups: one "<place> <address> <port> <user> <datastore
# address, or - for a backup host>" line each; their host keys (known_hosts lines) come on stdin
mkdir -p {{key_dir}} && chown root: {{key_dir}} && chmod 700 {{key_dir}}
(umask 077
 cat > {{known_hosts}}.tmp
 printf '%s\n' {{places_lines}} > {{places}}.tmp)
mv -f {{known_hosts}}.tmp {{known_hosts}} && mv -f {{places}}.tmp {{places}}
echo "datastore backups are copied to the voters among: {{names}}"
