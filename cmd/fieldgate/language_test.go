package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

var germanReceipt = regexp.MustCompile(`Meldung \d{4}-\d+ angenommen`)

// TestSenderChoosesLanguage: a field worker's messenger does not say which
// language they read, so they write "English" to the function address;
// from then on their replies (the receipt, and the reports' language for
// later notices) are English, until they write "deutsch", which removes
// the stored choice.
func TestSenderChoosesLanguage(t *testing.T) {
	s := xmppStack(t, map[string]string{"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "1ms"})
	acct := testsvc.User(t)
	reporter := testsvc.Login(t, acct)
	to := s.address("tiefbau")
	stored := func() string {
		t.Helper()
		var lang string
		if err := s.query(`SELECT coalesce(max(language), '') FROM sender_languages WHERE channel = 'xmpp' AND sender = $1`, acct.JID).Scan(&lang); err != nil {
			t.Fatal(err)
		}
		return lang
	}

	reporter.SendReport(to, "", "English!", "")
	reporter.WaitMessage(20*time.Second, "the English confirmation", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "From now on I answer you in English")
	})
	if got := stored(); got != "en" {
		t.Errorf("stored language %q, want en", got)
	}
	reporter.SendReport(to, "", "Pothole in front of no. 12 geo:51.0251,7.5919", "")
	reporter.WaitMessage(20*time.Second, "an English receipt", func(m testsvc.Message) bool {
		return strings.HasPrefix(m.Body, "Report ") && strings.Contains(m.Body, " accepted")
	})
	var lang string
	if err := s.query(`SELECT language FROM reports WHERE body LIKE 'Pothole%'`).Scan(&lang); err != nil || lang != "en" {
		t.Errorf("report language %q (%v), want en", lang, err)
	}
	if n := s.count("reports WHERE body ILIKE '%english%'"); n != 0 {
		t.Errorf("the language choice became %d report(s)", n)
	}

	reporter.SendReport(to, "", "Sprache: Deutsch", "")
	reporter.WaitMessage(20*time.Second, "the German confirmation", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "Ab jetzt antworte ich Ihnen auf Deutsch")
	})
	if got := stored(); got != "" {
		t.Errorf("after „deutsch“ the choice %q is still stored, want none (German is the default)", got)
	}
	reporter.SendReport(to, "", "Laterne defekt geo:51.0290,7.5960", "")
	reporter.WaitMessage(20*time.Second, "a German receipt", func(m testsvc.Message) bool {
		return germanReceipt.MatchString(m.Body)
	})
}
