package media

import (
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// Key prefixes. Originals are never linked to teams.
const (
	PrefixOriginal = "orig/"
	PrefixTeam     = "team/"
)

// keyRE matches every key this package generates, and nothing a client could
// smuggle in (no "..", no other prefixes).
var keyRE = regexp.MustCompile(`^(orig|team)/[0-9]{4}/[0-9]{2}/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}(\.jpg|\.png|-thumb\.jpg)?$`)

// newID returns a UUIDv7: time-ordered, unguessable, server-generated.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil { // only if crypto/rand fails
		panic(fmt.Sprintf("media: uuid: %v", err))
	}
	return id.String()
}

// newKey builds "orig/2026/11/<uuidv7>" from the clock; never from user input.
func newKey(prefix string, now time.Time) string {
	now = now.UTC()
	return fmt.Sprintf("%s%04d/%02d/%s", prefix, now.Year(), int(now.Month()), newID())
}

func validKey(key string) error {
	if !keyRE.MatchString(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	return nil
}
