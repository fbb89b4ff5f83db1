# every datastore backup kept in {{dir}}: "now <epoch>", "dir <mode> <owner>" (or "dir none"), then
# "<taken, epoch> <mode> <owner> <name> ok|<why it is no good backup>" each
{{backup_lib}}
echo "now $(date +%s)"
if [ ! -d {{dir}} ]; then echo "dir none"; exit 0; fi
echo "dir $(stat -c '%a %U' {{dir}})"
find {{dir}} -maxdepth 1 -name 'datastore-*.tar.gz' | sort | while read -r f; do
  why=ok
  why=$(backup_check "$f") && why=$(backup_sum_check "$f") && why=ok
  echo "$(stat -c '%Y %a %U' "$f") ${f##*/} $why"
done
