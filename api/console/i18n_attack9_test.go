package console_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
)

// consoleTexts reads the keys of each language in web/static/i18n.js.
func consoleTexts(t *testing.T) (de, en map[string]bool) {
	t.Helper()
	b, err := os.ReadFile("web/static/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	i, j := strings.Index(src, "\n  de: {"), strings.Index(src, "\n  en: {")
	if i < 0 || j < i {
		t.Fatal("i18n.js: no de and en blocks")
	}
	key := regexp.MustCompile(`(?m)(?:^|[,{]\s*)([a-z][a-z0-9_]*): "`)
	keys := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, k := range key.FindAllStringSubmatch(s, -1) {
			m[k[1]] = true
		}
		return m
	}
	return keys(src[i:j]), keys(src[j:])
}

// Every text the console can show exists in German and in English: the
// keys the script and the page name literally, and one per state,
// plausibility flag, position source and sign-in error the server sends,
// so that no raw key ("src_xmp") or English leftover reaches a dispatcher.
func TestConsoleTextsAreComplete(t *testing.T) {
	de, en := consoleTexts(t)
	for k := range de {
		if !en[k] {
			t.Errorf("i18n.js: %q has no English text", k)
		}
	}
	for k := range en {
		if !de[k] {
			t.Errorf("i18n.js: %q has no German text", k)
		}
	}
	var need []string
	for _, s := range []dispatch.State{dispatch.StateReceived, dispatch.StateNeedsLocation, dispatch.StateRouted, dispatch.StateAcknowledged,
		dispatch.StateResolved, dispatch.StateEscalated, dispatch.StateReassigned, dispatch.StateMerged, dispatch.StateRejected} {
		need = append(need, "st_"+string(s))
	}
	for _, f := range []string{dispatch.FlagNoPosition, dispatch.FlagSourcesDiffer, dispatch.FlagPhotoOld, dispatch.FlagPhotoFuture,
		dispatch.FlagOutsideArea, dispatch.FlagSenderPosition} {
		need = append(need, "flag_"+f)
	}
	for _, s := range []string{dispatch.SourceEXIF, dispatch.SourceXMP, dispatch.SourceAPI, dispatch.SourceGeoURI, dispatch.SourceXEP0080} {
		need = append(need, "src_"+s)
	}
	// The codes the sign-in handlers put into /console/?error=.
	for _, e := range []string{"token", "link", "norole", "idp", "state", "nooidc", "internal", "origin"} {
		need = append(need, "err_"+e)
	}
	for _, file := range []string{"web/static/app.js", "web/static/index.html"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\bt\("([a-z0-9_]+)"|data-t[pa]?="([a-z0-9_]+)"|"data-t": "([a-z0-9_]+)"`).FindAllStringSubmatch(string(b), -1) {
			if k := m[1] + m[2] + m[3]; !strings.HasSuffix(k, "_") { // "st_" + state: checked above
				need = append(need, k)
			}
		}
	}
	slices.Sort(need)
	for _, k := range slices.Compact(need) {
		if !de[k] || !en[k] {
			t.Errorf("text %q: German %v, English %v; want both", k, de[k], en[k])
		}
	}
}
