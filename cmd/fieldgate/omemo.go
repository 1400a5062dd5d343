package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/routing"
)

const omemoUsage = `usage: fieldgate omemo fingerprints [--config FILE]
       fieldgate omemo trust [--config FILE] ADDRESS JID DEVICE FINGERPRINT`

// runOMEMO is `fieldgate omemo fingerprints`: the OMEMO device id and
// identity-key fingerprint of every function address, creating keys that
// do not exist yet, so that a town can publish them (and people can verify
// them in their messenger); and `fieldgate omemo trust`: pin the
// fingerprint an admin verified for a correspondent's device.
func runOMEMO(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "fingerprints" && args[0] != "trust") {
		fmt.Fprintln(stderr, omemoUsage)
		return exitError{2}
	}
	cfg, fs, err := parseCommand("omemo "+args[0], args[1:], true, getenv, stderr, nil)
	if err != nil {
		return err
	}
	var pin []string
	if args[0] == "trust" {
		if pin = fs.Args(); len(pin) != 4 {
			fmt.Fprintln(stderr, omemoUsage)
			return exitError{2}
		}
	} else if fs.NArg() != 0 {
		fmt.Fprintln(stderr, omemoUsage)
		return exitError{2}
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
		return fmt.Errorf("rules: %w%s", err, fileReadHint(err))
	}
	pool, err := openCheckedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	m := omemo.New(omemo.NewPG(pool), sealer, newLogger(cfg, stderr))
	if pin != nil {
		// The address as the gateway keys it (its name in the rules, not
		// as typed: "Tiefbau" would get keys of its own and a pin the
		// gateway never reads), and the correspondent's bare JID as the
		// gateway sees it (normalised; a resource is no account).
		addr, ok := rs.Address(pin[0])
		if !ok {
			return fmt.Errorf("unknown function address %q", pin[0])
		}
		who, err := jid.Parse(strings.TrimPrefix(pin[1], "xmpp:"))
		if err != nil || who.Localpart() == "" || who.Resourcepart() != "" {
			return fmt.Errorf("JID %q: give the account's bare JID, e.g. anna@stadt.example (no /resource)", pin[1])
		}
		dev, err := strconv.ParseUint(pin[2], 10, 31)
		if err != nil || dev == 0 {
			return fmt.Errorf("device %q: a device id is a number from 1 to 2147483647", pin[2])
		}
		if err := m.Pin(ctx, addr.Name, who.String(), uint32(dev), pin[3]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s trusts only %s for %s device %d\n", addr.Name, omemo.FormatFingerprint(mustHexKey(pin[3])), who, dev)
		return nil
	}
	for _, a := range rs.Addresses() {
		if a.Encryption == routing.EncryptionOff {
			continue
		}
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

// mustHexKey reads a fingerprint already checked by Pin.
func mustHexKey(fp string) []byte {
	b, _ := hex.DecodeString(strings.NewReplacer(" ", "", "-", "").Replace(fp))
	return b
}
