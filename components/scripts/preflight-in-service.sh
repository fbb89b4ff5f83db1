if [ -f {{installed_marker}} ] || [ -f {{joined_marker}} ]; then
  echo "PREFLIGHT {{node_text}} in-service ok already part of the cluster; not checked again"
  exit 0
fi
