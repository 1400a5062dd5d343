package gateway

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/msg"
)

// LanguagePreferences stores the language a messenger sender chose to be
// answered in (dispatch.Service implements it).
type LanguagePreferences interface {
	// SenderLanguage returns the sender's choice, "" for none.
	SenderLanguage(ctx context.Context, channel, sender string) (string, error)
	// SetSenderLanguage stores a choice (a tag of msg.Languages).
	SetSenderLanguage(ctx context.Context, channel, sender, lang string) error
}

// RememberLanguages lets senders choose the language of their replies by
// writing "english" or "deutsch" to a function address, stored in p.
// Messengers do not say which language their user reads: Conversations
// declares xml:lang "en" on every stream, and Prosody stamps "en" on the
// stanzas of clients that declare none (senderLanguage). Call it before
// Run; without it every sender gets the function address's language.
func (g *Gateway) RememberLanguages(p LanguagePreferences) {
	g.langs = &languageCache{prefs: p, entries: map[string]cachedLanguage{}}
}

// languageChoices are the messages that choose a language, lower case,
// without punctuation around them.
var languageChoices = map[string]string{
	"english": "en", "englisch": "en", "in english": "en", "english please": "en", "auf englisch": "en",
	"language english": "en", "sprache englisch": "en", "sprache english": "en",
	"deutsch": "de", "german": "de", "auf deutsch": "de", "in german": "de",
	"sprache deutsch": "de", "language german": "de", "language deutsch": "de",
}

// parseLanguageChoice reports whether a message body is nothing but a
// choice of language ("English", "deutsch!", "Sprache: Englisch") and
// which tag of msg.Languages it chooses.
func parseLanguageChoice(body string) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(body))
	t = strings.Trim(t, ".!?:;,\"'„“”»« ")
	t = strings.Join(strings.Fields(strings.ReplaceAll(t, ":", " ")), " ")
	lang, ok := languageChoices[t]
	return lang, ok
}

// languageCacheFor is how long a sender's choice is served from memory.
// Only the replica holding the component connection reads messages, and
// it updates its cache when a sender chooses; after a takeover the new
// holder reads each sender's choice from the database once.
const languageCacheFor = 10 * time.Minute

// languageCacheMax bounds the cache; when full it starts afresh.
const languageCacheMax = 10_000

type languageCache struct {
	prefs   LanguagePreferences
	mu      sync.Mutex
	entries map[string]cachedLanguage // bare JID → choice
}

type cachedLanguage struct {
	lang  string // "" = none chosen
	until time.Time
}

// forSender returns the sender's chosen language, or fallback if they
// chose none (or it cannot be read now: a reply in the address's language
// beats no reply).
func (c *languageCache) forSender(ctx context.Context, sender, fallback string, now time.Time) string {
	if c == nil {
		return fallback
	}
	c.mu.Lock()
	e, ok := c.entries[sender]
	c.mu.Unlock()
	if !ok || now.After(e.until) {
		lang, err := c.prefs.SenderLanguage(ctx, dispatch.ChannelXMPP, sender)
		if err != nil {
			return fallback
		}
		e = cachedLanguage{lang: lang, until: now.Add(languageCacheFor)}
		c.put(sender, e)
	}
	if e.lang == "" {
		return fallback
	}
	return e.lang
}

// choose stores a sender's choice.
func (c *languageCache) choose(ctx context.Context, sender, lang string, now time.Time) error {
	if err := c.prefs.SetSenderLanguage(ctx, dispatch.ChannelXMPP, sender, lang); err != nil {
		return err
	}
	c.put(sender, cachedLanguage{lang: lang, until: now.Add(languageCacheFor)})
	return nil
}

func (c *languageCache) put(sender string, e cachedLanguage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= languageCacheMax {
		clear(c.entries)
	}
	c.entries[sender] = e
}

// chooseLanguage answers a sender's "english"/"deutsch": the choice is
// stored and confirmed in the chosen language.
func (g *Gateway) chooseLanguage(ctx context.Context, m *inMessage, local, sender, lang, current string) {
	if err := g.langs.choose(ctx, sender, lang, time.Now()); err != nil {
		g.log.WarnContext(ctx, "could not store a sender's language", "err", err)
		g.reply(ctx, m, local, msg.For(current).TryAgain())
		return
	}
	g.reply(ctx, m, local, msg.For(lang).LanguageChosen())
	g.sendReceipt(ctx, m, local)
}
