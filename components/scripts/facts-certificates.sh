# this node's MicroK8s certificates (read-only): days left and end of each (`openssl x509 -enddate`,
# as `microk8s refresh-certs -c` reads them), the server certificate's subject alternative names, and
# when they were read
ssl=$(command -v openssl 2>/dev/null) || ssl={{snap_openssl}}
now=$(date -u +%s)
fact {{read_fact}} "$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)"
for pair in {{certs}}; do
  cert=${pair%%:*}; name=${pair#*:}
  value=absent
  if [ -f {{certs_dir}}/"$cert" ]; then
    value=unknown
    if end=$("$ssl" x509 -enddate -noout -in {{certs_dir}}/"$cert" 2>/dev/null) &&
       end=$(date -u -d "${end#notAfter=}" +%s 2>/dev/null); then
      left=$((end - now))
      # whole days, rounded down as MicroK8s' check prints them (an expired one: -1 and below)
      if [ "$left" -ge 0 ]; then days=$((left / 86400)); else days=$(( -((-left + 86399) / 86400) )); fi
      value="$days $(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ)"
    fi
  fi
  fact "$name" "$value"
done
sans=absent
if [ -f {{certs_dir}}/server.crt ]; then
  sans=$("$ssl" x509 -noout -text -in {{certs_dir}}/server.crt 2>/dev/null |
         awk '/X509v3 Subject Alternative Name/ { getline; gsub(/IP Address:/, "IP:"); gsub(/[[:space:]]/, ""); print }') || sans=""
  sans=${sans:-unknown}
fi
fact {{sans_fact}} "$sans"
{{address_fact}}