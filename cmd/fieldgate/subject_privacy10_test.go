package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestPrivacyShow: a field worker asks what the town stores about them
// (GDPR Art. 15). They chose English and sent a photo report through
// Prosody's upload; anna took it. `fieldgate privacy show <their JID>
// --media-dir` prints their report (text, position, photo with what was
// read from it), their language choice, and copies the original photo
// byte for byte; `privacy show anna@…` shows her take in the trail and
// the case she owns, and none of the reporter's reports. Before, an
// admin had no way to answer such a request but raw SQL.
func TestPrivacyShow(t *testing.T) {
	s := xmppStack(t, map[string]string{"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "1ms"})
	room := testsvc.Room("tiefbau", s.suffix)
	acct := testsvc.User(t)
	reporter := testsvc.Login(t, acct)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)
	to := s.address("tiefbau")

	reporter.SendReport(to, "", "English!", "")
	reporter.WaitMessage(20*time.Second, "the English confirmation", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "From now on I answer you in English")
	})
	photo := testsvc.PhotoExpected(t, "gps_nw.jpg")
	url := reporter.Upload(photo.Path, "image/jpeg")
	reporter.SendReport(to, "", "Gully blocked "+s.suffix+" "+url, url)
	ack := reporter.WaitMessage(30*time.Second, "the case number", func(m testsvc.Message) bool {
		return strings.HasPrefix(m.Body, "Report ") && strings.Contains(m.Body, "accepted")
	})
	caseNo := strings.Fields(ack.Body)[1]
	anna.WaitMessage(60*time.Second, "the post", func(m testsvc.Message) bool { return s.fromGateway(m) && strings.Contains(m.Body, caseNo) })
	anna.Groupchat(room, "ok "+shortRef(caseNo))
	anna.WaitMessage(20*time.Second, "the take", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo+" übernommen")
	})

	show := func(args ...string) dispatch.PersonalData {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(t.Context(), append([]string{"privacy", "show"}, args...), s.getenv, &out, &errb); err != nil {
			t.Fatalf("privacy show %v: %v\n%s", args, err, errb.String())
		}
		var d dispatch.PersonalData
		if err := json.Unmarshal(out.Bytes(), &d); err != nil {
			t.Fatalf("privacy show %v printed no JSON: %v\n%s", args, err, out.String())
		}
		return d
	}
	dir := filepath.Join(t.TempDir(), "auskunft")
	d := show(strings.ToUpper(acct.JID)+"/phone", "--media-dir", dir)
	if d.Subject != acct.JID || len(d.Reports) != 1 {
		t.Fatalf("subject %q with %d reports, want %s with 1: %+v", d.Subject, len(d.Reports), acct.JID, d)
	}
	r := d.Reports[0]
	if r.CaseNumber != caseNo || !strings.Contains(r.Text, "Gully blocked "+s.suffix) || r.Position == nil || len(r.Media) != 1 ||
		r.Channel != "xmpp" || r.IncidentState != dispatch.StateAcknowledged {
		t.Errorf("report = %+v", r)
	}
	if len(r.Media) == 1 && (r.Media[0].TeamCopy == "" || !strings.Contains(string(r.Media[0].Metadata), `"Lat"`)) {
		t.Errorf("photo = %+v %s, want its team copy and the position read from it", r.Media[0], r.Media[0].Metadata)
	}
	if len(d.Languages) != 1 || d.Languages[0].Language != "en" {
		t.Errorf("languages = %+v, want the English choice", d.Languages)
	}
	if len(r.Media) == 1 {
		got, err := os.ReadFile(filepath.Join(dir, strings.ReplaceAll(r.Media[0].Key, "/", "_")))
		want, _ := os.ReadFile(photo.Path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("copied original: %d bytes (%v), want the %d bytes sent", len(got), err, len(want))
		}
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("media dir mode %v (%v), want 0700", fi.Mode().Perm(), err)
		}
	}

	a := show("anna@stadt.localhost")
	if len(a.Reports) != 0 || len(a.Owned) != 1 || a.Owned[0] != caseNo {
		t.Errorf("anna: %d reports, owns %v; want none and %s", len(a.Reports), a.Owned, caseNo)
	}
	took := false
	for _, e := range a.Trail {
		took = took || e.CaseNumber == caseNo && e.Kind == "take"
	}
	if !took {
		t.Errorf("anna's trail %+v lacks her take of %s", a.Trail, caseNo)
	}

	var errb bytes.Buffer
	if err := run(t.Context(), []string{"privacy", "show"}, s.getenv, &bytes.Buffer{}, &errb); err == nil || !strings.Contains(errb.String(), "usage") {
		t.Errorf("no subject: %v %q, want the usage", err, errb.String())
	}
}
