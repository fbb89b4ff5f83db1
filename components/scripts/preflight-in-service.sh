if [ "$marker" != none ]; then
  report in-service ok "already part of the cluster; not checked again"
else
{{checks}}
fi
