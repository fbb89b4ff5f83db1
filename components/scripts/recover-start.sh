# recover: MicroK8s started again; the datastore answers once its voters elect a leader
microk8s start >/dev/null
echo "MicroK8s started on {{node_text}}"
