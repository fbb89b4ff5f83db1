# recover: the backend folder as it is now, before anything in it changes; each run's backup is a
# file of its own (a run again after an interrupted one never overwrites the first), kept until
# removed by hand. Written aside and checked, then named: a backup-*.tar.gz is always whole (a run
# killed while it wrote leaves a .partial, removed by the next run).
mkdir -p {{backup_dir}}
chmod 700 {{backup_dir}}
rm -f {{backup_dir}}/.partial-*
partial=$(mktemp {{backup_dir}}/.partial-XXXXXX)
tar -C {{kube_dir}} -czf "$partial" backend
tar -tzf "$partial" >/dev/null
backup={{backup_dir}}/backend-$(date -u +%Y%m%dT%H%M%SZ)-${partial##*-}.tar.gz
mv -f "$partial" "$backup"
echo "backend of {{node_text}} backed up to $backup"
