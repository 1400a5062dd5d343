package msg

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestTextsComplete renders every text in every language with sample
// values: none may be empty, carry a fmt error (%!) or drop a value.
func TestTextsComplete(t *testing.T) {
	typ := reflect.TypeFor[Texts]()
	for _, lang := range Languages {
		v := reflect.ValueOf(For(lang))
		for i := range typ.NumMethod() {
			m := typ.Method(i)
			if m.Name == "EventName" {
				continue
			}
			var args []reflect.Value
			var want []string
			for j := range m.Type.NumIn() {
				switch m.Type.In(j).Kind() {
				case reflect.String:
					s := "⟨" + m.Name + strconv.Itoa(j) + "⟩"
					args, want = append(args, reflect.ValueOf(s)), append(want, s)
				case reflect.Int:
					n := 7001 + j
					args, want = append(args, reflect.ValueOf(n)), append(want, strconv.Itoa(n))
				case reflect.Int64: // a size in bytes, shown in MiB
					args, want = append(args, reflect.ValueOf(int64(3<<20)+int64(j))), append(want, "MiB")
				default:
					t.Fatalf("%s: parameter %d has type %s; add a sample value", m.Name, j, m.Type.In(j))
				}
			}
			got := v.MethodByName(m.Name).Call(args)[0].String()
			if strings.TrimSpace(got) == "" || strings.Contains(got, "%!") {
				t.Errorf("%s.%s = %q", lang, m.Name, got)
			}
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("%s.%s drops the value %s: %q", lang, m.Name, w, got)
				}
			}
		}
	}
}

// TestLanguagesDiffer catches a text copied into the wrong language: most
// texts must read differently in German and English.
func TestLanguagesDiffer(t *testing.T) {
	typ := reflect.TypeFor[Texts]()
	same := 0
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Type.NumIn() != 0 {
			continue
		}
		d := reflect.ValueOf(For("de")).MethodByName(m.Name).Call(nil)[0].String()
		e := reflect.ValueOf(For("en")).MethodByName(m.Name).Call(nil)[0].String()
		if d == e {
			same++
			t.Logf("%s reads the same in both languages: %q", m.Name, d)
		}
	}
	if same > 2 {
		t.Errorf("%d parameterless texts read the same in German and English", same)
	}
}

func TestEventNames(t *testing.T) {
	for _, lang := range Languages {
		for _, kind := range EventKinds {
			if got := For(lang).EventName(kind); got == kind && lang == "de" || got == "" {
				t.Errorf("%s: event %s has no name (%q)", lang, kind, got)
			}
		}
	}
	if len(deEvents) != len(EventKinds) || len(enEvents) != len(EventKinds) {
		t.Errorf("event names: %d German, %d English, %d kinds", len(deEvents), len(enEvents), len(EventKinds))
	}
	if got := For("de").EventName("reassigned"); got != "weitergeleitet" {
		t.Errorf("de reassigned = %q", got)
	}
	if got := For("en").EventName("location_received"); got != "location received" {
		t.Errorf("en location_received = %q", got)
	}
	if got := For("fr").EventName("unknown_kind"); got != "unknown_kind" {
		t.Errorf("unknown kind rendered as %q", got)
	}
}

func TestForDefaultsToGerman(t *testing.T) {
	for lang, want := range map[string]string{"": "de", "de": "de", "fr": "de", "en": "en", "en-GB": "en", "EN": "en", "de-AT": "de"} {
		if got := Normalize(lang); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", lang, got, want)
		}
	}
	if For("").TryAgain() != (de{}).TryAgain() || For("en-US").TryAgain() != (en{}).TryAgain() {
		t.Error("For picks the wrong catalogue")
	}
	var nilText Text
	if nilText.In("de") != "" {
		t.Error("a nil Text renders as something")
	}
	text := Text(func(t Texts) string { return t.UnknownCase("42") })
	if text.In("en") != "No open case 42 found." || text.In("de") != "Keinen offenen Fall 42 gefunden." {
		t.Errorf("Text.In: %q / %q", text.In("en"), text.In("de"))
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct{ header, fallback, want string }{
		{"", "en", "en"},
		{"", "de", "de"},
		{"de", "en", "de"},
		{"de-DE,de;q=0.9,en;q=0.8", "en", "de"},
		{"en-GB,de;q=0.5", "de", "en"},
		{"en-US", "de", "en"},
		{"fr, de;q=0.7", "en", "de"},
		{"fr", "de", "de"},
		{"fr", "en", "en"},
		{"de;q=0.1, en;q=0.9", "de", "en"},
		{"not a ;;; language header", "en", "en"},
	} {
		if got := Negotiate(tc.header, tc.fallback); got != tc.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tc.header, tc.fallback, got, tc.want)
		}
	}
}

// BenchmarkRender renders a receipt through the catalogue, as dispatch
// does (For, then the typed method); BenchmarkSprintfFloor is the bare
// fmt.Sprintf of the same format, the floor to compare it with.
func BenchmarkRender(b *testing.B) {
	lang, caseNo, team, district := benchArgs()
	for b.Loop() {
		_ = For(lang).AcceptedDistrict(caseNo, team, district)
	}
}

func BenchmarkSprintfFloor(b *testing.B) {
	_, caseNo, team, district := benchArgs()
	for b.Loop() {
		_ = fmt.Sprintf("Meldung %s angenommen – weitergeleitet an %s (Bezirk %s).", caseNo, team, district)
	}
}

// benchArgs are values the compiler cannot treat as constants, as at run time.
func benchArgs() (lang, caseNo, team, district string) {
	v := strings.Fields("de 2026-000042 Tiefbau-Nord Mitte")
	return v[0], v[1], v[2], v[3]
}
