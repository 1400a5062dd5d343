package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/msg"
)

// SenderLanguage returns the language a sender chose to be answered in
// (a tag of msg.Languages), or "" if they chose none.
func (s *Service) SenderLanguage(ctx context.Context, channel, sender string) (string, error) {
	var lang string
	err := s.pool.QueryRow(ctx, `SELECT language FROM sender_languages WHERE channel = $1 AND sender = $2`, channel, sender).Scan(&lang)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load sender language: %w", err)
	}
	return lang, nil
}

// SetSenderLanguage stores the language a sender chose (a tag of
// msg.Languages); the catalogue's default removes the choice, as nothing
// needs to be kept for it. Another tag is ErrInvalid.
func (s *Service) SetSenderLanguage(ctx context.Context, channel, sender, lang string) error {
	if !slices.Contains(msg.Languages, lang) {
		return fmt.Errorf("sender language %q: %w", lang, ErrInvalid)
	}
	if lang == msg.Default {
		if _, err := s.pool.Exec(ctx, `DELETE FROM sender_languages WHERE channel = $1 AND sender = $2`, channel, sender); err != nil {
			return fmt.Errorf("clear sender language: %w", err)
		}
		return nil
	}
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO sender_languages (channel, sender, language, set_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (channel, sender) DO UPDATE SET language = excluded.language, set_at = excluded.set_at`,
		channel, sender, lang, s.now()); err != nil {
		return fmt.Errorf("store sender language: %w", err)
	}
	return nil
}

// retainSenderLanguages deletes the language choices of senders who have
// no report left (retention deleted them, or they never sent one) and
// chose longer ago than the default retention period; it returns how many
// it deleted (with dryRun: would delete). gone are the incidents this run
// deleted (or, in a dry run, would delete): their reports do not count as
// left, so that a dry run counts what the run will delete.
func (rt *Retention) retainSenderLanguages(ctx context.Context, dryRun bool, gone []uuid.UUID) (int64, error) {
	n, err := rt.deleteWhere(ctx, dryRun, "sender_languages l", `l.set_at < $1::timestamptz - make_interval(secs => $2)
		AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.channel = l.channel AND r.sender = l.sender
		                AND NOT (r.incident_id = ANY($3::uuid[])))`, rt.now(), int64(rt.cfg.Default.Seconds()), gone)
	if err != nil {
		return 0, fmt.Errorf("expired sender languages: %w", err)
	}
	return n, nil
}
