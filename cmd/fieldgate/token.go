package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/migrations"
)

// runToken creates or revokes an API token. It needs only the database.
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		fmt.Fprintln(stderr, "usage: fieldgate token create --name NAME --role reporter|dispatcher|metrics|team:<id>[,…] [--address tiefbau,…|*] [--ttl DURATION] | token revoke --name NAME")
		return exitError{2}
	}
	var name, roles, secretFile, addresses string
	var ttl time.Duration
	cfg, _, err := commonFlags("token "+args[0], args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "token name (who uses it, e.g. the app)")
		fs.StringVar(&roles, "role", dispatch.RoleReporter, "comma-separated roles")
		fs.DurationVar(&ttl, "ttl", 0, "lifetime (0 = no expiry)")
		fs.StringVar(&secretFile, "secret-file", "", "use the secret in this file instead of generating one (dev setups)")
		fs.StringVar(&addresses, "address", "", "comma-separated function addresses it may file to (local parts, or * for all); default: public addresses only")
	})
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrations.Check(ctx, pool); err != nil {
		return err
	}
	tokens := dispatch.NewTokens(pool, nil)
	if args[0] == "revoke" {
		if err := tokens.Revoke(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %q revoked\n", name)
		return nil
	}
	secret := ""
	if secretFile != "" {
		if err := readSecret(&secret, secretFile); err != nil {
			return err
		}
	}
	tok, err := tokens.CreateScoped(ctx, dispatch.TokenSpec{Name: name, Roles: strings.Split(roles, ","),
		Addresses: strings.Split(addresses, ","), TTL: ttl, Secret: secret})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
