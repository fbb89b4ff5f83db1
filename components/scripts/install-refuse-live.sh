  echo "ERROR: ELMA365 runs on {{main_text}} ($workloads workloads in namespace {{namespace}}), installed without elma365-cluster: {{refusal}}" >&2
  exit 1
