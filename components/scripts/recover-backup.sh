# recover: the backend folder as it is now, before anything in it changes; each run's backup is a
# file of its own (a run again after an interrupted one never overwrites the first), kept until
# removed by hand
mkdir -p {{backup_dir}}
chmod 700 {{backup_dir}}
backup=$(mktemp --suffix=.tar.gz {{backup_dir}}/backend-"$(date -u +%Y%m%dT%H%M%SZ)"-XXXXXX)
tar -C {{kube_dir}} -czf "$backup" backend
echo "backend of {{node_text}} backed up to $backup"
