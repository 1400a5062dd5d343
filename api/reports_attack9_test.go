package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
)

// TestIdempotencyKeyReusedForAnotherReport: a key used before with
// another report (address, text, position, urgency or files differ) gets
// 422 (draft-ietf-httpapi-idempotency-key-header §2.7) and stores nothing;
// before, it got the first report's receipt (200), so the new report was
// lost while the client believed it filed. The same report again is a
// retry and gets the receipt, small bodies and large ones alike.
func TestIdempotencyKeyReusedForAnotherReport(t *testing.T) {
	big := strings.Repeat("\xff", replayLookupMinBytes)
	photo := "\xff\xd8\xff" + "photo"
	sum := sha256.Sum256([]byte(photo))
	first := dispatch.Receipt{ReportID: uuid.New(), CaseNumber: "2026-000007", Replayed: true}
	firstView := dispatch.ReportView{Report: dispatch.Report{ID: first.ReportID, CaseNumber: first.CaseNumber, Address: "tiefbau",
		Text: "Schlagloch", Position: &dispatch.Position{Lat: 51.02, Lon: 7.58}, PositionSource: dispatch.SourceAPI,
		Media: []dispatch.MediaObject{{Object: media.Object{SHA256: hex.EncodeToString(sum[:])}}}}}
	same := [][2]string{{"to", "tiefbau"}, {"text", "Schlagloch"}, {"lat", "51.02"}, {"lon", "7.58"}}
	cases := []struct {
		name   string
		fields [][2]string
		photo  string
		status int
	}{
		{"the same report", same, photo, http.StatusOK},
		{"the same report, full address", [][2]string{{"to", "Tiefbau@reports.stadt.example"}, {"text", "Schlagloch"}, {"lat", "51.02"}, {"lon", "7.58"}}, photo, http.StatusOK},
		{"another text", [][2]string{{"to", "tiefbau"}, {"text", "Ampel defekt"}, {"lat", "51.02"}, {"lon", "7.58"}}, photo, http.StatusUnprocessableEntity},
		{"another address", [][2]string{{"to", "info"}, {"text", "Schlagloch"}, {"lat", "51.02"}, {"lon", "7.58"}}, photo, http.StatusUnprocessableEntity},
		{"another position", [][2]string{{"to", "tiefbau"}, {"text", "Schlagloch"}, {"lat", "51.03"}, {"lon", "7.58"}}, photo, http.StatusUnprocessableEntity},
		{"no position", [][2]string{{"to", "tiefbau"}, {"text", "Schlagloch"}}, photo, http.StatusUnprocessableEntity},
		{"urgent now", append(append([][2]string{}, same...), [2]string{"urgent", "true"}), photo, http.StatusUnprocessableEntity},
		{"another photo", same, "\xff\xd8\xff" + "other", http.StatusUnprocessableEntity},
		{"no photo", same, "", http.StatusUnprocessableEntity},
	}
	for _, size := range []struct {
		name    string
		padding string
	}{{"small body", ""}, {"large body", big}} {
		for _, tc := range cases {
			t.Run(size.name+"/"+tc.name, func(t *testing.T) {
				s := newTestServer(t, testServerOptions{})
				s.addTokens()
				s.domain.replays[dispatch.ChannelAPI+"|token:app|key-1"] = first
				s.domain.reports[first.ReportID] = firstView
				var files [][2]string
				if tc.photo != "" {
					files = [][2]string{{"photo", tc.photo}}
				}
				if size.padding != "" {
					// A large body is a large photo: the key is looked up
					// before the body is read.
					files = nil
					if tc.photo != "" {
						files = [][2]string{{"photo", tc.photo + size.padding}}
					}
					bigSum := sha256.Sum256([]byte(photo + size.padding))
					v := firstView
					v.Report.Media = []dispatch.MediaObject{{Object: media.Object{SHA256: hex.EncodeToString(bigSum[:])}}}
					s.domain.reports[first.ReportID] = v
				}
				body, ct := multipartBody(t, tc.fields, files)
				w := s.do(http.MethodPost, "/api/v1/reports", secretApp, body, map[string]string{"Content-Type": ct, "Idempotency-Key": "key-1", "Accept-Language": "de"})
				if tc.status == http.StatusOK {
					if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"replayed":true`) || !strings.Contains(w.Body.String(), first.CaseNumber) {
						t.Fatalf("retry: %d %s", w.Code, w.Body.String())
					}
				} else {
					p := checkProblem(t, w, http.StatusUnprocessableEntity, "idempotency-key-reused", "Meldung 2026-000007 mit anderem Inhalt")
					if p.Title != "Idempotency-Key wiederverwendet" {
						t.Errorf("title %q", p.Title)
					}
				}
				if len(s.domain.intakes) != 0 || s.media.count() != 0 {
					t.Errorf("stored %d reports and %d objects", len(s.domain.intakes), s.media.count())
				}
			})
		}
	}
}
