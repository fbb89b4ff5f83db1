case $sans in
  absent | unknown) fact {{address_fact}} "$sans" ;;
  *) case ",$sans," in *,IP:{{address}},* | *,DNS:{{address}},*) fact {{address_fact}} yes ;; *) fact {{address_fact}} no ;; esac ;;
esac
