package main

import (
	"context"
	"io"

	"github.com/fieldgate/fieldgate/routing/rulescmd"
)

// runRules implements `fieldgate rules check|explain|test`; args excludes
// the word "rules". The logic lives in routing/rulescmd.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return rulescmd.Run(ctx, args, stdout, stderr)
}
