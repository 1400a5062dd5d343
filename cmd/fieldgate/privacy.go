package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
)

const privacyUsage = "usage: fieldgate privacy show SUBJECT [--media-dir DIR] [--config FILE]\n" +
	"  SUBJECT: a bare JID, token:<name>, or an Open311 contact's e-mail address or phone number\n"

// runPrivacy is `fieldgate privacy show SUBJECT [--media-dir DIR]`: what
// the database keeps about one person (GDPR Art. 15), as JSON on stdout
// (dispatch.PersonalData); with --media-dir it also copies the originals
// of the person's photos there, named by their S3 keys ("orig/2026/11/…"
// becomes "orig_2026_11_…"), for the copy the person may ask for.
func runPrivacy(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "show" || strings.HasPrefix(args[1], "-") {
		fmt.Fprint(stderr, privacyUsage)
		return exitError{2}
	}
	subject := args[1]
	var mediaDir string
	cfg, _, err := commonFlags("privacy show", args[2:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&mediaDir, "media-dir", "", "copy the originals of the subject's photos into this directory")
	})
	if err != nil {
		return err
	}
	pool, err := openCheckedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	data, err := dispatch.StoredAbout(ctx, pool, subject)
	if err != nil {
		return err
	}
	if mediaDir != "" {
		if err := copySubjectMedia(ctx, cfg, data, mediaDir, stderr); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(data)
}

// copySubjectMedia writes each original of data's reports into dir
// (created 0700, files 0600: they are personal data).
func copySubjectMedia(ctx context.Context, cfg *Config, data dispatch.PersonalData, dir string, stderr io.Writer) error {
	store, err := openMediaStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--media-dir: %w", err)
	}
	for _, r := range data.Reports {
		for _, m := range r.Media {
			if err := copyObject(ctx, store, m.Key, filepath.Join(dir, strings.ReplaceAll(m.Key, "/", "_"))); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyObject(ctx context.Context, store *media.Store, key, path string) error {
	body, _, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer body.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
