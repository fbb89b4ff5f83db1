if [ "$tracking" != {{pin}} ]; then
  echo "ERROR: MicroK8s on {{main_text}} tracks $tracking, but elma365:install.microk8sChannel pins {{pin_text}}: nodes of one cluster must run the same MicroK8s. Remove the pin to follow {{main_text}}, or pin $tracking" >&2
  exit 1
fi
