IFS= read -r target || true
{{detached}}
mkdir -p {{state_dir}}
if {{member_here}}; then
{{take_over_member}}
  touch {{joined_marker}}
  echo "{{node_text}} is already a member of the cluster at {{main_address_text}}"
  exit 0
fi
if waited_for_earlier join && {{member_here}}; then
  touch {{joined_marker}}
  echo "{{node_text}} joined the cluster at {{main_address_text}} in the run an earlier session started"
  exit 0
fi
if [ "$target" = {{already_member}} ]; then
  echo "ERROR: the main node lists {{node_text}} as a member but {{node_text}} is not joined to {{main_address_text}}; remove it on the main node (microk8s remove-node {{node_text}}) and run again" >&2
  exit 1
fi
target_pattern={{target_pattern}}
if ! [[ "$target" =~ $target_pattern ]]; then
  echo "ERROR: no usable join line for {{node_text}}" >&2
  exit 1
fi
# A token is presented at most once: a re-run never retries a spent one.
spent={{state_dir}}/spent-join-tokens
mkdir -p {{state_dir}}
token_id=$(printf '%s' "$target" | sha256sum | cut -c1-16)
fresh_token_hint={{fresh_token_hint}}
if grep -qxF "$token_id" "$spent" 2>/dev/null; then
  echo "ERROR: the join token for {{node_text}} was already used once; $fresh_token_hint" >&2
  exit 1
fi
echo "$token_id" >> "$spent"
# whatever this node applied as a member of an earlier cluster (HA mode) does not hold in this one
rm -rf {{applied_dir}}
if ! run_detached join microk8s join "$target"; then
  echo "ERROR: {{node_text}} could not join {{main_address_text}}; its one-time token is spent now; $fresh_token_hint" >&2
  exit 1
fi
microk8s status --wait-ready --timeout 600 >/dev/null
touch {{joined_marker}}
echo "{{node_text}} joined the cluster at {{main_address_text}}"
