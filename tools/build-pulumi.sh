#!/usr/bin/env bash
# `make pulumi`: the real Pulumi CLI, its Python language host and (where it can be had) the
# pulumi-command provider, built from the Go module proxy into a cache outside the repository.
#   tools/build-pulumi.sh            build what is missing, print progress
#   tools/build-pulumi.sh --bin-dir  print only the folder that holds the binaries
# A `pulumi` already on PATH is used as it is and nothing is built.
set -euo pipefail
cd "$(dirname "$0")"

version=3.274.1                  # pulumi/pulumi pkg and sdk; the PyPI `pulumi` pin is 3.272.0
host_sdk=v3.68.0                 # the newest sdk/v3 that carries the Python language host (tools/pulumi-language-python)
command_version=1.2.1            # pulumi-command, as the PyPI `pulumi-command` pin
cache=${ELMA365_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/elma365-cluster}
bin=$cache/pulumi-$version/bin

if [ "${1:-}" = --bin-dir ]; then
    if on_path=$(command -v pulumi 2>/dev/null) && [ "$on_path" != "$bin/pulumi" ]; then
        dirname "$on_path"
    else
        echo "$bin"
    fi
    exit 0
fi

if on_path=$(command -v pulumi 2>/dev/null) && [ "$on_path" != "$bin/pulumi" ]; then
    echo "pulumi: using $on_path ($("$on_path" version)) as it is; nothing to build"
    exit 0
fi

export CGO_ENABLED=0 GOTOOLCHAIN=local
mkdir -p "$bin"
stamp() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"; }

build() {   # <what> <binary> <module dir> <package> <ldflags>
    local what=$1 out=$2 dir=$3 pkg=$4 ldflags=$5
    if [ -x "$bin/$out" ] && [ "$(cat "$bin/.$out.stamp" 2>/dev/null)" = "$pkg $ldflags" ]; then
        stamp "$what: cached in $bin/$out"
        return 0
    fi
    stamp "$what: building $pkg (the first build fetches the modules and takes minutes)"
    # into a temporary name first: an interrupted build never leaves a half-written binary behind
    (cd "$dir" && go build -buildvcs=false -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$bin/.$out.tmp" "$pkg")
    mv -f "$bin/.$out.tmp" "$bin/$out"
    echo "$pkg $ldflags" > "$bin/.$out.stamp"
    stamp "$what: built $bin/$out"
}

build "Pulumi CLI v$version" pulumi pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"
build "Python language host ($host_sdk)" pulumi-language-python pulumi-language-python \
    github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$host_sdk"

# The language host runs this script, which must sit beside it; it is in sdk/v3, not in the wheel.
sdk_dir=$(cd pulumi && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin/pulumi-language-python-exec"
stamp "language host executor: $bin/pulumi-language-python-exec (sdk/v3 v$version)"

# pulumi-command's provider: its module is not served by the proxy these machines reach. Try it,
# so that the day it is served it is built; until then say so and go on (the lab has a stand-in).
if [ -x "$bin/pulumi-resource-command" ]; then
    stamp "pulumi-command provider: cached in $bin/pulumi-resource-command"
elif probe=$(cd "$(mktemp -d)" && go mod download -json "github.com/pulumi/pulumi-command/provider@v$command_version" 2>&1) \
        && ! grep -q '"Error"' <<<"$probe"; then
    dir=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$probe")
    stamp "pulumi-command provider v$command_version: building"
    (cd "$dir" && go build -trimpath -ldflags "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$command_version" \
        -o "$bin/.pulumi-resource-command.tmp" ./cmd/pulumi-resource-command)
    mv -f "$bin/.pulumi-resource-command.tmp" "$bin/pulumi-resource-command"
else
    stamp "pulumi-command provider v$command_version: NOT AVAILABLE from the module proxy:"
    grep -m3 -E 'Error|403|404|Forbidden|not available' <<<"$probe" | sed 's/^/    /' || true
    stamp "the lab uses its stand-in lab/command_provider.py (see lab/README.md)"
fi
stamp "done: $("$bin/pulumi" version) in $bin"
