if ! command -v {{command}} >/dev/null 2>&1; then
  echo "installing {{package_text}} (needed for {{command_text}})" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q {{package}} >&2 || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q {{package}} >&2; }
  elif command -v dnf >/dev/null 2>&1; then dnf install -y -q {{package}} >&2
  elif command -v yum >/dev/null 2>&1; then yum install -y -q {{package}} >&2
  else echo "ERROR: {{command_text}} is missing and no known package manager is available to install {{package_text}}" >&2; exit 1
  fi
fi
