package open311

import (
	"net/http"
	"strings"
	"testing"
)

// TestUnpublishedDescriptionsHideFreeTextAttributes: a town that sets
// publish_descriptions: false does not want what citizens typed to be
// public. The free-text attributes of its service definition (datatype
// string and text) are typed just like the description; they were still
// listed to anyone with extensions=true. They now follow the description;
// list, number and date attributes stay, and with publishing on all show.
func TestUnpublishedDescriptionsHideFreeTextAttributes(t *testing.T) {
	free := "Nachbar Herr Beispiel wirft Müll"
	sample := sampleRequests()
	sample[0].Attributes["notiz"] = free
	sample[0].Attributes["ort"] = "hinter dem Haus von " + free
	sample[0].Attributes["tiefe"] = "8"

	off := false
	f := newFixture(t, Config{PublishDescriptions: &off})
	f.domain.requests = sample
	for _, target := range []string{"/open311/v2/requests.json?extensions=true", "/open311/v2/requests.xml?extensions=true",
		"/open311/v2/requests/2026-000042.json?extensions=true"} {
		w := f.do(t, http.MethodGet, target, nil, "")
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, w.Code, w.Body)
		}
		body := w.Body.String()
		if strings.Contains(body, "Beispiel") || strings.Contains(body, "Tiefes Loch") {
			t.Errorf("%s publishes what the citizen typed although descriptions are not published:\n%s", target, body)
		}
		if !strings.Contains(body, "schlagloch") || !strings.Contains(body, `"8"`) && !strings.Contains(body, ">8<") {
			t.Errorf("%s lost the list and number attributes:\n%s", target, body)
		}
	}

	on := newFixture(t, Config{})
	on.domain.requests = sample
	if w := on.do(t, http.MethodGet, "/open311/v2/requests.json?extensions=true", nil, ""); !strings.Contains(w.Body.String(), free) {
		t.Errorf("with descriptions published the free-text attribute is missing:\n%s", w.Body)
	}
}
