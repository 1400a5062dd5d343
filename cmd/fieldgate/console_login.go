package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/api/console"
	"github.com/fieldgate/fieldgate/routing"
)

// consoleConfig turns the console section into console.Config.
func consoleConfig(cfg *Config) console.Config {
	c := cfg.Console
	public := cmp.Or(c.PublicURL, "http://"+cfg.HTTP.Addr)
	secure := cfg.HTTP.TLSCert != "" || strings.HasPrefix(public, "https://")
	if c.SecureCookies != nil {
		secure = *c.SecureCookies
	}
	return console.Config{
		PublicURL: public, SecureCookies: secure, SessionTTL: c.SessionTTL,
		TileURL: c.TileURL, TileAttribution: c.TileAttribution, TimeZone: cfg.TimeZone,
		OIDC: console.OIDCConfig{Issuer: c.OIDC.Issuer, ClientID: c.OIDC.ClientID, ClientSecret: c.OIDC.ClientSecret,
			GroupsClaim: c.OIDC.GroupsClaim, Groups: c.OIDC.Groups, Scopes: c.OIDC.Scopes},
	}
}

// runConsoleLogin prints a one-time console login link for USER. Roles
// come from --role, else from the rules (dispatchers, team members).
func runConsoleLogin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var roles string
	var ttl time.Duration
	var user string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		user, args = args[0], args[1:]
	}
	cfg, fs, err := parseCommand("console-login", args, true, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&roles, "role", "", "comma-separated roles (dispatcher, team:<id>); default: from the rules")
		fs.DurationVar(&ttl, "ttl", 15*time.Minute, "how long the link works (once)")
	})
	if err != nil {
		return err
	}
	if user == "" && fs.NArg() > 0 {
		user = fs.Arg(0)
	}
	if user == "" {
		fmt.Fprintln(stderr, "usage: fieldgate console-login USER [--role dispatcher|team:<id>[,…]] [--ttl 15m]")
		return exitError{2}
	}
	var list []string
	if roles != "" {
		list = strings.Split(roles, ",")
	} else {
		rules, err := routing.NewEngine(cfg.Rules.File, newLogger(cfg, stderr))
		if err != nil {
			return fmt.Errorf("rules: %w%s", err, fileReadHint(err))
		}
		list = console.RolesFromRules(rules, user)
	}
	pool, err := openCheckedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	link, err := console.CreateLoginLink(ctx, pool, consoleConfig(cfg).PublicURL, user, list, ttl, time.Now())
	if err != nil {
		if errors.Is(err, console.ErrNoRole) {
			fmt.Fprintf(stderr, "%s is neither a dispatcher nor a team member in the rules; give --role\n", user)
			return exitError{1}
		}
		return err
	}
	fmt.Fprintln(stdout, link)
	return nil
}
