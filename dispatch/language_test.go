package dispatch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// A sender's language choice is stored, read, replaced, removed by
// choosing the default, refused for a language the catalogue does not
// speak, and deleted by retention once it is older than the retention
// period and its sender has no report left.
func TestSenderLanguageChoice(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool})
	ctx := context.Background()
	get := func(sender string) string {
		t.Helper()
		lang, err := svc.SenderLanguage(ctx, dispatch.ChannelXMPP, sender)
		if err != nil {
			t.Fatal(err)
		}
		return lang
	}
	if got := get("max@stadt.localhost"); got != "" {
		t.Errorf("no choice yet: %q", got)
	}
	for _, sender := range []string{"max@stadt.localhost", "eva@stadt.localhost", "ida@stadt.localhost"} {
		if err := svc.SetSenderLanguage(ctx, dispatch.ChannelXMPP, sender, "en"); err != nil {
			t.Fatal(err)
		}
	}
	if got := get("max@stadt.localhost"); got != "en" {
		t.Errorf("after choosing English: %q", got)
	}
	if err := svc.SetSenderLanguage(ctx, dispatch.ChannelXMPP, "max@stadt.localhost", "fr"); !errors.Is(err, dispatch.ErrInvalid) {
		t.Errorf("French: %v, want ErrInvalid", err)
	}
	if err := svc.SetSenderLanguage(ctx, dispatch.ChannelXMPP, "max@stadt.localhost", "de"); err != nil || get("max@stadt.localhost") != "" {
		t.Errorf("choosing the default keeps %q (%v), want nothing stored", get("max@stadt.localhost"), err)
	}

	// eva and ida chose a year ago; eva still has a report, ida has none.
	if _, err := pool.Exec(ctx, `UPDATE sender_languages SET set_at = now() - interval '400 days'`); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "info", Sender: "eva@stadt.localhost", Text: "Ast auf dem Weg"}); err != nil {
		t.Fatal(err)
	}
	res, err := svc.RunRetention(ctx, true)
	if err != nil || res.SenderLanguages != 1 || get("ida@stadt.localhost") != "en" {
		t.Errorf("dry run: %d to delete (%v), ida's choice %q; want 1 counted and nothing deleted", res.SenderLanguages, err, get("ida@stadt.localhost"))
	}
	if res, err := svc.RunRetention(ctx, false); err != nil || res.SenderLanguages != 1 {
		t.Errorf("retention deleted %d choices (%v), want 1", res.SenderLanguages, err)
	}
	if get("ida@stadt.localhost") != "" || get("eva@stadt.localhost") != "en" {
		t.Errorf("after retention: ida %q (want gone), eva %q (want en: she has a report)", get("ida@stadt.localhost"), get("eva@stadt.localhost"))
	}
}
