package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/routing"
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
	if strings.TrimSpace(name) == "" {
		fmt.Fprintf(stderr, "fieldgate token %s: --name is required (who uses the token, e.g. --name dienst-app); nothing was done\n", args[0])
		return exitError{2}
	}
	pool, err := openCheckedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	tokens := dispatch.NewTokens(pool, nil)
	if args[0] == "revoke" {
		if err := tokens.Revoke(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %q revoked\n", name)
		return nil
	}
	if err := checkTokenTeams(cfg.Rules.File, strings.Split(roles, ",")); err != nil {
		return err
	}
	secret := ""
	if secretFile != "" {
		if err := readSecret(&secret, "--secret-file", secretFile); err != nil {
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

// checkTokenTeams refuses team:<id> roles of teams the rules file does not
// define: such a token would see nothing, and a typo ("team:tiefbau-nord"
// for "tiefbau") would go unnoticed until someone asks why. Without a
// rules file configured nothing is checked.
func checkTokenTeams(rulesFile string, roles []string) error {
	if rulesFile == "" {
		return nil
	}
	var unknown []string
	var rs *routing.RuleSet
	for _, r := range roles {
		team, ok := strings.CutPrefix(r, "team:")
		if !ok || strings.TrimSpace(team) == "" {
			continue // CreateScoped refuses an empty team
		}
		if rs == nil {
			var err error
			if rs, err = routing.Load(rulesFile); err != nil {
				return fmt.Errorf("rules (to check the token's teams): %w", err)
			}
		}
		if _, found := rs.Team(team); !found {
			unknown = append(unknown, team)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	var known []string
	for _, t := range rs.Teams() {
		known = append(known, t.ID)
	}
	return fmt.Errorf("token: no team %s in %s (teams: %s)", strings.Join(unknown, ", "), rulesFile, strings.Join(known, ", "))
}
