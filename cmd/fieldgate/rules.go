package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/fieldgate/fieldgate/routing/rulescmd"
)

// runRules implements `fieldgate rules check|explain|test`; args excludes
// the word "rules". The logic lives in routing/rulescmd. A usage error
// exits 2, any other error 1; main prints the error.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := rulescmd.Run(ctx, args, stdout, stderr)
	if errors.Is(err, rulescmd.ErrUsage) {
		fmt.Fprintln(stderr, "fieldgate:", err)
		return exitError{2}
	}
	return err
}
