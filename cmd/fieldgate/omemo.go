package main

import (
	"context"
	"fmt"
	"io"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/migrations"
	"github.com/fieldgate/fieldgate/routing"
)

// runOMEMO is `fieldgate omemo fingerprints`: the OMEMO device id and
// identity-key fingerprint of every function address, creating keys that
// do not exist yet, so that a town can publish them (and people can verify
// them in their messenger).
func runOMEMO(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "fingerprints" {
		fmt.Fprintln(stderr, "usage: fieldgate omemo fingerprints [--config FILE]")
		return exitError{2}
	}
	cfg, _, err := commonFlags("omemo fingerprints", args[1:], getenv, stderr, nil)
	if err != nil {
		return err
	}
	if cfg.OMEMO.Key == "" {
		return fmt.Errorf("OMEMO is off: set FIELDGATE_OMEMO_KEY or omemo.key_file")
	}
	sealer, err := omemo.NewSealer(cfg.OMEMO.Key)
	if err != nil {
		return err
	}
	rs, err := routing.Load(cfg.Rules.File)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrations.Check(ctx, pool); err != nil {
		return err
	}
	m := omemo.New(omemo.NewPG(pool), sealer, newLogger(cfg, stderr))
	for _, a := range rs.Addresses() {
		dev, err := m.Device(ctx, a.Name)
		if err != nil {
			return err
		}
		fp, err := m.Fingerprint(ctx, a.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s@%s\tdevice %d\t%s\n", a.Name, cfg.XMPP.Domain, dev, fp)
	}
	return nil
}
