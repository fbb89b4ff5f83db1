  # elma365:adopt: ELMA365 runs here already and is taken over; the installer never runs over it
  if [ "$membership" = lone ]; then
    # one server: its settings are what the installer leaves with this config's answers (HA off),
    # so the settings step applies what the config adds (HA, external services, autoscaling)
    {{record_applied}}
    how="one server, its settings taken to be the installer's with this config's answers (HA off)"
  else
    # a cluster built by hand: the settings steps of this run record the config's settings as applied
    {{take_over_mark}}
    how="a cluster (datastore $datastore), its settings taken to be the config's"
  fi
  touch {{installed_marker}}
  echo "ELMA365 runs on {{main_text}} already: taken over (elma365:adopt) as $how; the installer did not run" >&2
  exit 0
