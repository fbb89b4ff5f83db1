# certificates: the days left on this node's MicroK8s certificates (its facts). pulumi up renews
# server.crt and front-proxy-client.crt, never the CA; an address server.crt lacks is reported, not repaired
cert_fact() { printf '%s\n' "$facts" | awk -v name="$1" '$1 == "FACT" && $3 == name { print $4; exit }'; }
ca=$(cert_fact certca); server=$(cert_fact certserver); proxy=$(cert_fact certproxy); named=$(cert_fact certaddress)
case $ca in
  "" | absent)
    report certificates ok "no MicroK8s certificates here yet" ;;
  unknown)
    report certificates warn "the MicroK8s certificates of {{node_text}} could not be read (openssl x509): see microk8s refresh-certs -c there" ;;
  *)
    detail="days left: ca.crt $ca, server.crt $server, front-proxy-client.crt $proxy"
    problems=""
    if [ "$ca" -le {{days}} ]; then
      problems="$problems; the CA ends within {{days}} days and pulumi up never renews it: see docs/certificates.md (Certificates: the CA)"
    fi
    if [ "$named" = no ]; then
      problems="$problems; server.crt does not name {{address_text}} (the node's address changed since MicroK8s signed it): reported, not repaired, see docs/certificates.md"
    fi
    if [ -n "$problems" ]; then report certificates warn "$detail$problems"; else report certificates ok "$detail"; fi ;;
esac
