//go:build tools

// Package tools pins the language host's main package so `go mod tidy` keeps
// its dependencies; `make pulumi` builds it with `go build`.
package tools

import _ "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"
