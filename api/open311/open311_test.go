package open311

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// A small rules file with two published services, one unpublished
// (child welfare must never appear) and every attribute type.
const testRules = `version: 1
timezone: Europe/Berlin
teams:
  tiefbau: {name: Tiefbau Nord, room: tiefbau@conference.stadt.localhost}
  gruen: {name: Grünflächen, room: gruen@conference.stadt.localhost}
addresses:
  tiefbau:
    display_name: Tiefbau
    description: Schäden an Straßen
    allow: [public]
    default_team: tiefbau
    open311:
      service_code: strassenschaden
      group: Straßen
      keywords: [Schlagloch, Gehweg]
      service_notice: Wir prüfen innerhalb von drei Werktagen.
      expected_within: 72h
      attributes:
        - {code: schaden, datatype: singlevaluelist, required: true, description: Art des Schadens, values: {schlagloch: Schlagloch, platte: Gehwegplatte}}
        - {code: tiefe, datatype: number, description: Tiefe in cm, datatype_description: ganze Zahl}
        - {code: seit, datatype: datetime, description: Seit wann}
        - {code: ort, datatype: string, description: Ortsbeschreibung}
        - {code: notiz, datatype: text, description: Notiz}
        - {code: betroffen, datatype: multivaluelist, description: Betroffen, values: {fuss: Fußgänger, rad: Radfahrer}}
  gruen:
    display_name: Grünflächen
    allow: [public]
    default_team: gruen
    open311: {}
  jugendamt:
    display_name: Jugendamt
    allow: [stadt.localhost]
    default_team: tiefbau
rules: []
default: {team: tiefbau}
`

type fakeDomain struct {
	mu       sync.Mutex
	intakes  []dispatch.NewReport
	requests []dispatch.ServiceRequest
	filters  []dispatch.ServiceRequestFilter
	tokens   map[string]dispatch.Token
	report   dispatch.ReportView
	replays  map[string]dispatch.Receipt // Idempotency-Key → receipt
	fail     error
	media    *fakeMedia
}

func (d *fakeDomain) Intake(_ context.Context, in dispatch.NewReport) (dispatch.Receipt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return dispatch.Receipt{}, d.fail
	}
	d.intakes = append(d.intakes, in)
	return dispatch.Receipt{ReportID: uuid.MustParse("01900000-0000-7000-8000-000000000001"), CaseNumber: "2026-000042"}, nil
}

func (d *fakeDomain) Replay(_ context.Context, _, _, key string) (dispatch.Receipt, error) {
	if r, ok := d.replays[key]; ok {
		return r, nil
	}
	return dispatch.Receipt{}, dispatch.ErrNotFound
}

func (d *fakeDomain) Authenticate(_ context.Context, secret string) (dispatch.Token, error) {
	if t, ok := d.tokens[secret]; ok {
		return t, nil
	}
	return dispatch.Token{}, errors.Join(dispatch.ErrNotFound)
}

func (d *fakeDomain) ServiceRequests(_ context.Context, f dispatch.ServiceRequestFilter) ([]dispatch.ServiceRequest, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.filters = append(d.filters, f)
	var out []dispatch.ServiceRequest
	for _, r := range d.requests {
		if len(f.CaseNumbers) > 0 && r.CaseNumber != f.CaseNumbers[0] {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func (d *fakeDomain) DiscardObjects(ctx context.Context, keys ...string) {
	if d.media != nil {
		_ = d.media.Delete(ctx, keys...)
	}
}

func (d *fakeDomain) GetReport(_ context.Context, id uuid.UUID) (dispatch.ReportView, error) {
	if id == d.report.Report.ID {
		return d.report, nil
	}
	return dispatch.ReportView{}, dispatch.ErrNotFound
}

type fakeMedia struct {
	mu      sync.Mutex
	puts    int
	deleted []string
}

func (m *fakeMedia) Put(_ context.Context, r io.Reader) (media.Object, error) {
	b, _ := io.ReadAll(r)
	if !bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) {
		return media.Object{}, media.ErrTypeNotAllowed
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	return media.Object{Key: "orig/2026/11/" + uuid.NewString(), ContentType: "image/jpeg", Size: int64(len(b))}, nil
}

func (m *fakeMedia) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleted = append(m.deleted, keys...)
	return nil
}

func (m *fakeMedia) PresignGet(_ context.Context, key string) (string, error) {
	if !strings.HasPrefix(key, "team/") {
		return "", errors.New("originals are never linked")
	}
	return "https://s3.example/" + key + "?X-Amz-Expires=3600", nil
}

type staticRules struct{ rs *routing.RuleSet }

func (s staticRules) Current() *routing.RuleSet { return s.rs }

func loadRules(t *testing.T) *routing.RuleSet {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(testRules), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := routing.Load(p)
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	return rs
}

type fixture struct {
	h      http.Handler
	domain *fakeDomain
	media  *fakeMedia
}

func newFixture(t *testing.T, cfg Config) fixture {
	t.Helper()
	gin.SetMode(gin.TestMode)
	d := &fakeDomain{tokens: map[string]dispatch.Token{
		"good-key":  {Name: "app", Roles: []string{dispatch.RoleReporter}},
		"team-only": {Name: "crm", Roles: []string{"team:tiefbau"}},
	}}
	m := &fakeMedia{}
	d.media = m
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cfg.TimeZone = berlin
	cfg.Now = func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }
	h := New(d, m, nil, staticRules{loadRules(t)}, cfg, nil)
	r := gin.New()
	h.Register(r)
	return fixture{h: r, domain: d, media: m}
}

func (f fixture) do(t *testing.T, method, target string, body io.Reader, contentType string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func (f fixture) post(t *testing.T, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return f.do(t, http.MethodPost, target, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// elementOrder lists the child element names of the first element named
// parent, in document order.
func elementOrder(t *testing.T, body []byte, parent string) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	var names []string
	depth, in := 0, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("xml: %v\n%s", err, body)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if in {
				depth++
				if depth == 1 {
					names = append(names, e.Name.Local)
				}
			} else if e.Name.Local == parent {
				in = true
			}
		case xml.EndElement:
			if in {
				if depth == 0 {
					return names
				}
				depth--
			}
		}
	}
	t.Fatalf("no <%s> in %s", parent, body)
	return nil
}

func TestServiceListShapes(t *testing.T) {
	f := newFixture(t, Config{})
	w := f.do(t, http.MethodGet, "/open311/v2/services.xml", nil, "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/xml; charset=utf-8" {
		t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.Bytes()
	if !bytes.HasPrefix(body, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML declaration with UTF-8: %.60s", body)
	}
	// The spec's order: service_code, service_name, description, metadata, type, keywords, group.
	want := []string{"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
	if got := elementOrder(t, body, "service"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("service elements %v, want %v", got, want)
	}
	if bytes.Contains(body, []byte("jugendamt")) || bytes.Contains(body, []byte("Jugendamt")) {
		t.Errorf("an unpublished address is listed:\n%s", body)
	}

	w = f.do(t, http.MethodGet, "/open311/v2/services.json", nil, "")
	var list []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatalf("json: %v\n%s", err, w.Body)
	}
	if len(list) != 2 {
		t.Fatalf("%d services, want 2 (tiefbau, gruen): %s", len(list), w.Body)
	}
	s := list[0]
	if s["service_code"] != "strassenschaden" || s["service_name"] != "Tiefbau" || s["metadata"] != true ||
		s["type"] != "realtime" || s["keywords"] != "Schlagloch, Gehweg" || s["group"] != "Straßen" {
		t.Errorf("service = %v", s)
	}
	if list[1]["service_code"] != "gruen" || list[1]["metadata"] != false {
		t.Errorf("second service = %v (code defaults to the address, no attributes = no metadata)", list[1])
	}
}

func TestServiceDefinitionShapes(t *testing.T) {
	f := newFixture(t, Config{})
	w := f.do(t, http.MethodGet, "/open311/v2/services/strassenschaden.xml", nil, "")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := elementOrder(t, w.Body.Bytes(), "service_definition"); strings.Join(got, ",") != "service_code,attributes" {
		t.Errorf("service_definition children %v", got)
	}
	want := "variable,code,datatype,required,datatype_description,order,description,values"
	if got := elementOrder(t, w.Body.Bytes(), "attribute"); strings.Join(got, ",") != want {
		t.Errorf("attribute children %v, want %s", got, want)
	}
	if got := elementOrder(t, w.Body.Bytes(), "value"); strings.Join(got, ",") != "key,name" {
		t.Errorf("value children %v", got)
	}

	w = f.do(t, http.MethodGet, "/open311/v2/services/strassenschaden.json", nil, "")
	var def struct {
		ServiceCode string `json:"service_code"`
		Attributes  []struct {
			Variable            bool    `json:"variable"`
			Code                string  `json:"code"`
			Datatype            string  `json:"datatype"`
			Required            bool    `json:"required"`
			DatatypeDescription *string `json:"datatype_description"`
			Order               int     `json:"order"`
			Description         string  `json:"description"`
			Values              []struct{ Key, Name string }
		} `json:"attributes"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &def); err != nil {
		t.Fatal(err)
	}
	types := []string{}
	for i, a := range def.Attributes {
		types = append(types, a.Datatype)
		if a.Order != i+1 || !a.Variable {
			t.Errorf("attribute %s: order %d variable %v", a.Code, a.Order, a.Variable)
		}
	}
	if strings.Join(types, ",") != "singlevaluelist,number,datetime,string,text,multivaluelist" {
		t.Errorf("datatypes %v: every spec type must be declarable", types)
	}
	a := def.Attributes[0]
	if a.Code != "schaden" || !a.Required || len(a.Values) != 2 || a.Values[0].Key != "schlagloch" || a.Values[0].Name != "Schlagloch" {
		t.Errorf("first attribute %+v", a)
	}
	if def.Attributes[0].DatatypeDescription != nil || def.Attributes[1].DatatypeDescription == nil || *def.Attributes[1].DatatypeDescription != "ganze Zahl" {
		t.Errorf("datatype_description must be null when unset and the text when set")
	}

	w = f.do(t, http.MethodGet, "/open311/v2/services/jugendamt.json", nil, "")
	assertError(t, w, 404, "jugendamt")
}

func assertError(t *testing.T, w *httptest.ResponseRecorder, code int, contains string) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d: %s", w.Code, code, w.Body)
	}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		var errs []struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &errs); err != nil || len(errs) != 1 {
			t.Fatalf("error body is not [{code, description}]: %s", w.Body)
		}
		if errs[0].Code != code || !strings.Contains(errs[0].Description, contains) {
			t.Errorf("error %+v, want code %d containing %q", errs[0], code, contains)
		}
		return
	}
	var errs struct {
		Errors []struct {
			Code        int    `xml:"code"`
			Description string `xml:"description"`
		} `xml:"error"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &errs); err != nil || len(errs.Errors) != 1 {
		t.Fatalf("error body is not <errors><error>: %s", w.Body)
	}
	if errs.Errors[0].Code != code || !strings.Contains(errs.Errors[0].Description, contains) {
		t.Errorf("error %+v, want code %d containing %q", errs.Errors[0], code, contains)
	}
}

func goodForm() url.Values {
	return url.Values{
		"api_key": {"good-key"}, "service_code": {"strassenschaden"}, "lat": {"51.0251"}, "long": {"7.5919"},
		"description": {"Tiefes Loch vor Nr. 12"}, "attribute[schaden]": {"schlagloch"}, "attribute[tiefe]": {"12"},
		"attribute[betroffen][]": {"fuss", "rad"}, "email": {"max@example.org"}, "first_name": {"Max"},
	}
}

func TestPostRequest(t *testing.T) {
	f := newFixture(t, Config{})
	w := f.post(t, "/open311/v2/requests.xml", goodForm())
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	want := "service_request_id,token,service_notice,account_id"
	if got := elementOrder(t, w.Body.Bytes(), "request"); strings.Join(got, ",") != want {
		t.Errorf("request children %v, want %s", got, want)
	}
	var res struct {
		Request struct {
			ID     string `xml:"service_request_id"`
			Notice string `xml:"service_notice"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Request.ID != "2026-000042" {
		t.Errorf("service_request_id %q", res.Request.ID)
	}
	if !strings.Contains(res.Request.Notice, "drei Werktagen") || !strings.Contains(res.Request.Notice, "nicht gespeichert") {
		t.Errorf("service_notice %q must carry the service's notice and say contact data was not stored", res.Request.Notice)
	}
	if len(f.domain.intakes) != 1 {
		t.Fatalf("%d intakes", len(f.domain.intakes))
	}
	in := f.domain.intakes[0]
	if in.Channel != dispatch.ChannelOpen311 || in.Address != "tiefbau" || in.Sender != "token:app" ||
		in.Position == nil || in.Position.Lat != 51.0251 || in.PositionSource != dispatch.SourceAPI {
		t.Errorf("report %+v", in)
	}
	for _, line := range []string{"Tiefes Loch vor Nr. 12", "Art des Schadens: Schlagloch", "Tiefe in cm: 12", "Betroffen: Fußgänger, Radfahrer"} {
		if !strings.Contains(in.Text, line) {
			t.Errorf("team text lacks %q:\n%s", line, in.Text)
		}
	}
	if in.Attributes["schaden"] != "schlagloch" || in.Attributes["betroffen"] != "fuss,rad" || in.Attributes["service_code"] != "strassenschaden" {
		t.Errorf("attributes %v", in.Attributes)
	}
	for k := range in.Attributes {
		if strings.HasPrefix(k, "contact_") {
			t.Errorf("contact data %q stored although store_contact is off", k)
		}
	}
	if strings.Contains(in.Text, "max@example.org") {
		t.Errorf("contact data in the team's text")
	}

	// With store_contact, contact data is kept and the notice does not claim otherwise.
	f2 := newFixture(t, Config{StoreContact: true})
	w = f2.post(t, "/open311/v2/requests.json", goodForm())
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := f2.domain.intakes[0].Attributes["contact_email"]; got != "max@example.org" {
		t.Errorf("contact_email %q with store_contact on", got)
	}
	var posted []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &posted); err != nil || len(posted) != 1 || posted[0]["service_request_id"] != "2026-000042" {
		t.Fatalf("json answer %s", w.Body)
	}
	if strings.Contains(posted[0]["service_notice"].(string), "nicht gespeichert") {
		t.Errorf("notice says not stored although it was")
	}
}

func TestPostMultipartMedia(t *testing.T) {
	f := newFixture(t, Config{})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range goodForm() {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("media", "photo.jpg")
	_, _ = fw.Write([]byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3})
	_ = mw.Close()
	w := f.do(t, http.MethodPost, "/open311/v2/requests.json", &buf, mw.FormDataContentType())
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if len(f.domain.intakes) != 1 || len(f.domain.intakes[0].Media) != 1 {
		t.Fatalf("media not handed to intake: %+v", f.domain.intakes)
	}

	// A file before the api_key is refused before anything is stored.
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	fw, _ = mw.CreateFormFile("media", "photo.jpg")
	_, _ = fw.Write([]byte{0xFF, 0xD8, 0xFF, 0xE0})
	_ = mw.WriteField("api_key", "good-key")
	_ = mw.Close()
	puts := f.media.puts
	w = f.do(t, http.MethodPost, "/open311/v2/requests.json", &buf, mw.FormDataContentType())
	assertError(t, w, 403, "api_key")
	if f.media.puts != puts {
		t.Errorf("a file was stored for an unauthenticated caller")
	}
}

// TestBadRequestsStoreNothing: every refusal has the spec's error shape,
// the right status, and leaves no report and no object behind.
func TestBadRequestsStoreNothing(t *testing.T) {
	with := func(change func(url.Values)) url.Values {
		f := goodForm()
		change(f)
		return f
	}
	cases := []struct {
		name     string
		form     url.Values
		query    string
		status   int
		contains string
	}{
		{"unknown service", with(func(f url.Values) { f.Set("service_code", "nope") }), "", 404, "nope"},
		{"unpublished address", with(func(f url.Values) { f.Set("service_code", "jugendamt") }), "", 404, "jugendamt"},
		{"no api_key", with(func(f url.Values) { f.Del("api_key") }), "", 403, "api_key"},
		{"wrong api_key", with(func(f url.Values) { f.Set("api_key", "guess") }), "", 403, "api_key"},
		{"api_key without reporter role", with(func(f url.Values) { f.Set("api_key", "team-only") }), "", 403, "reporter"},
		{"missing required attribute", with(func(f url.Values) { f.Del("attribute[schaden]") }), "", 400, "schaden"},
		{"number attribute not a number", with(func(f url.Values) { f.Set("attribute[tiefe]", "tief") }), "", 400, "tiefe"},
		{"number attribute NaN", with(func(f url.Values) { f.Set("attribute[tiefe]", "NaN") }), "", 400, "tiefe"},
		{"datetime without zone", with(func(f url.Values) { f.Set("attribute[seit]", "2026-11-30 08:00") }), "", 400, "seit"},
		{"value not in list", with(func(f url.Values) { f.Set("attribute[schaden]", "krater") }), "", 400, "krater"},
		{"two values for a single list", with(func(f url.Values) { f["attribute[schaden]"] = []string{"schlagloch", "platte"} }), "", 400, "schaden"},
		{"unknown attribute", with(func(f url.Values) { f.Set("attribute[farbe]", "rot") }), "", 400, "farbe"},
		{"string too long", with(func(f url.Values) { f.Set("attribute[ort]", strings.Repeat("x", 501)) }), "", 400, "ort"},
		{"no position and no address", with(func(f url.Values) { f.Del("lat"); f.Del("long") }), "", 400, "address_string"},
		{"lat without long", with(func(f url.Values) { f.Del("long") }), "", 400, "lat"},
		{"position out of range", with(func(f url.Values) { f.Set("lat", "95") }), "", 400, "lat"},
		{"position 0,0", with(func(f url.Values) { f.Set("lat", "0"); f.Set("long", "0") }), "", 400, "lat"},
		{"media_url not fetched here", with(func(f url.Values) { f.Set("media_url", "http://169.254.169.254/latest/meta-data") }), "", 400, "media_url"},
		{"unknown field", with(func(f url.Values) { f.Set("password", "x") }), "", 400, "password"},
		{"NUL in the description", with(func(f url.Values) { f.Set("description", "a\x00b") }), "", 400, "description"},
		{"invalid UTF-8 in an attribute", with(func(f url.Values) { f.Set("attribute[ort]", "\xff") }), "", 400, "attribute[ort]"},
		{"wrong jurisdiction_id", goodForm(), "?jurisdiction_id=other.example", 404, "other.example"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{JurisdictionID: "stadt.example"})
			w := f.post(t, "/open311/v2/requests.json"+tc.query, tc.form)
			assertError(t, w, tc.status, tc.contains)
			if len(f.domain.intakes) != 0 || f.media.puts != 0 {
				t.Errorf("stored %d reports, %d objects", len(f.domain.intakes), f.media.puts)
			}
			// The same refusal in XML.
			w = f.post(t, "/open311/v2/requests.xml"+tc.query, tc.form)
			assertError(t, w, tc.status, tc.contains)
		})
	}
}

func TestAddressStringWithoutPosition(t *testing.T) {
	f := newFixture(t, Config{})
	form := goodForm()
	form.Del("lat")
	form.Del("long")
	form.Set("address_string", "Hauptstraße 12")
	if w := f.post(t, "/open311/v2/requests.json", form); w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	in := f.domain.intakes[0]
	if in.Position != nil || in.Attributes["address_string"] != "Hauptstraße 12" || !strings.Contains(in.Text, "Adresse: Hauptstraße 12") {
		t.Errorf("report %+v", in)
	}
}

func TestIntakeFailureDeletesUploads(t *testing.T) {
	f := newFixture(t, Config{})
	f.domain.fail = errors.New("database down")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range goodForm() {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("media", "photo.jpg")
	_, _ = fw.Write([]byte{0xFF, 0xD8, 0xFF, 0xE0})
	_ = mw.Close()
	w := f.do(t, http.MethodPost, "/open311/v2/requests.json", &buf, mw.FormDataContentType())
	assertError(t, w, 500, "")
	if f.media.puts != 1 || len(f.media.deleted) != 1 {
		t.Errorf("stored %d, deleted %d: a failed intake must delete what it stored", f.media.puts, len(f.media.deleted))
	}
}

var zoned = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$`)

func sampleRequests() []dispatch.ServiceRequest {
	at := time.Date(2026, 11, 30, 7, 15, 0, 0, time.UTC)
	return []dispatch.ServiceRequest{{
		ReportID: uuid.New(), CaseNumber: "2026-000042", Address: "tiefbau", Text: "Tiefes Loch",
		Position: &dispatch.Position{Lat: 51.0251, Lon: 7.5919}, RequestedAt: at,
		Attributes:  map[string]string{"schaden": "schlagloch", "address_string": "Hauptstraße 12", "contact_email": "max@example.org"},
		Incident:    dispatch.Incident{State: dispatch.StateAcknowledged, Team: "gruen"},
		UpdatedAt:   at.Add(time.Hour),
		Notes:       []dispatch.PublicNote{{At: at.Add(time.Hour), Text: "Wir sind unterwegs."}},
		Delegations: []string{"tiefbau", "gruen"}, TeamCopies: []string{"team/2026/11/abc.jpg"},
	}, {
		ReportID: uuid.New(), CaseNumber: "2026-000041", Address: "gruen", Text: "Ast auf dem Weg", RequestedAt: at,
		Incident: dispatch.Incident{State: dispatch.StateRejected, Team: "gruen"}, UpdatedAt: at, Rejection: "Privatgrund",
	}}
}

func TestGetRequestsShapes(t *testing.T) {
	f := newFixture(t, Config{})
	f.domain.requests = sampleRequests()
	w := f.do(t, http.MethodGet, "/open311/v2/requests.xml", nil, "")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	want := "service_request_id,status,status_notes,service_name,service_code,description,agency_responsible," +
		"service_notice,requested_datetime,updated_datetime,expected_datetime,address,address_id,zipcode,lat,long,media_url"
	if got := elementOrder(t, w.Body.Bytes(), "request"); strings.Join(got, ",") != want {
		t.Errorf("request children\n %v\nwant\n %s", got, want)
	}
	if bytes.Contains(w.Body.Bytes(), []byte("max@example.org")) || bytes.Contains(w.Body.Bytes(), []byte("token:")) {
		t.Errorf("personal data in a public read:\n%s", w.Body)
	}
	filt := f.domain.filters[0]
	if strings.Join(filt.Addresses, ",") != "tiefbau,gruen" || filt.From == nil || !filt.From.Equal(time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("default filter %+v: published addresses only, the last 90 days", filt)
	}

	w = f.do(t, http.MethodGet, "/open311/v2/requests.json?extensions=true", nil, "")
	var list []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list) != 2 {
		t.Fatalf("json: %v %s", err, w.Body)
	}
	r := list[0]
	checks := map[string]any{
		"service_request_id": "2026-000042", "status": "open", "status_notes": "Wir sind unterwegs.",
		"service_name": "Tiefbau", "service_code": "strassenschaden", "agency_responsible": "Grünflächen",
		"address": "Hauptstraße 12", "lat": 51.0251, "long": 7.5919, "description": "Tiefes Loch",
		"requested_datetime": "2026-11-30T08:15:00+01:00", "expected_datetime": "2026-12-03T08:15:00+01:00",
		"media_url": "https://s3.example/team/2026/11/abc.jpg?X-Amz-Expires=3600",
	}
	for k, v := range checks {
		if r[k] != v {
			t.Errorf("%s = %v, want %v", k, r[k], v)
		}
	}
	for _, k := range []string{"requested_datetime", "updated_datetime"} {
		if !zoned.MatchString(r[k].(string)) {
			t.Errorf("%s %q is not ISO 8601 with zone", k, r[k])
		}
	}
	ext, _ := r["extended_attributes"].(map[string]any)
	if ext["detailed_status"] != "IN_PROCESS" {
		t.Errorf("detailed_status %v", ext["detailed_status"])
	}
	if d, _ := json.Marshal(ext["delegation"]); string(d) != `["Tiefbau Nord","Grünflächen"]` {
		t.Errorf("delegation %s", d)
	}
	r2 := list[1]
	if r2["status"] != "closed" || r2["status_notes"] != "Abgelehnt: Privatgrund" || r2["lat"] != nil || r2["media_url"] != nil ||
		r2["expected_datetime"] != nil {
		t.Errorf("rejected request %v", r2)
	}
	if e2, _ := r2["extended_attributes"].(map[string]any); e2["detailed_status"] != "REJECTED" {
		t.Errorf("rejected detailed_status %v", e2)
	}
	if _, ok := list[0]["extended_attributes"]; !ok {
		t.Error("extensions=true without extended_attributes")
	}
	w = f.do(t, http.MethodGet, "/open311/v2/requests.json", nil, "")
	if strings.Contains(w.Body.String(), "extended_attributes") {
		t.Error("extended_attributes without extensions=true")
	}

	// One request by id; an unknown id is 404 in the spec's shape.
	w = f.do(t, http.MethodGet, "/open311/v2/requests/2026-000041.json", nil, "")
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0]["service_request_id"] != "2026-000041" {
		t.Fatalf("single request: %s", w.Body)
	}
	assertError(t, f.do(t, http.MethodGet, "/open311/v2/requests/2026-999999.json", nil, ""), 404, "2026-999999")
}

func TestGetRequestsFilters(t *testing.T) {
	f := newFixture(t, Config{})
	w := f.do(t, http.MethodGet, "/open311/v2/requests.json?service_code=gruen&status=closed&start_date=2026-11-01T00:00:00%2B01:00"+
		"&end_date=2026-11-30T00:00:00Z&updated_after=2026-11-02T00:00:00Z&page=3&page_size=20&lat=51.02&long=7.59&radius=500"+
		"&agency_responsible=Tiefbau%20Nord&service_request_id=2026-000001,2026-000002", nil, "")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := f.domain.filters[0]
	if strings.Join(got.Addresses, ",") != "gruen" || got.Open == nil || *got.Open || got.Limit != 20 || got.Offset != 40 ||
		got.Near == nil || got.RadiusM != 500 || strings.Join(got.Teams, ",") != "tiefbau" ||
		strings.Join(got.CaseNumbers, ",") != "2026-000001,2026-000002" || got.UpdatedAfter == nil ||
		!got.From.Equal(time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("filter %+v", got)
	}
	bad := map[string]string{
		"status=pending":            "status",
		"start_date=yesterday":      "start_date",
		"page=0":                    "page",
		"page_size=5000":            "page_size",
		"lat=51&long=7":             "radius",
		"service_code=jugendamt":    "jugendamt",
		"service_request_id=%00":    "service_request_id",
		"q=%ff":                     "q",
		"page=9223372036854775807":  "page",
		"lat=51&long=7&radius=NaN":  "radius",
		"jurisdiction_id=other.org": "other.org",
	}
	f = newFixture(t, Config{JurisdictionID: "stadt.example"})
	for q, contains := range bad {
		assertError(t, f.do(t, http.MethodGet, "/open311/v2/requests.json?"+q, nil, ""), map[bool]int{true: 404, false: 400}[strings.Contains(q, "jugendamt") || strings.Contains(q, "jurisdiction")], contains)
	}
	if len(f.domain.filters) != 0 {
		t.Errorf("a refused query reached the domain")
	}
}

func TestDiscoveryAndTokens(t *testing.T) {
	f := newFixture(t, Config{BaseURL: "https://meldungen.stadt.example/"})
	w := f.do(t, http.MethodGet, "/open311/discovery.json", nil, "")
	var d struct {
		Changeset string `json:"changeset"`
		Endpoints []struct {
			Specification, URL, Type string
			Formats                  []string
		} `json:"endpoints"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || len(d.Endpoints) != 1 {
		t.Fatalf("discovery %s", w.Body)
	}
	e := d.Endpoints[0]
	if e.Specification != "http://wiki.open311.org/GeoReport_v2" || e.URL != "https://meldungen.stadt.example/open311/v2" ||
		e.Type != "production" || strings.Join(e.Formats, ",") != "text/xml,application/json" || !zoned.MatchString(d.Changeset) {
		t.Errorf("discovery %+v", d)
	}

	id := uuid.New()
	f.domain.report = dispatch.ReportView{Report: dispatch.Report{ID: id, CaseNumber: "2026-000007", Channel: dispatch.ChannelOpen311}}
	w = f.do(t, http.MethodGet, "/open311/v2/tokens/"+id.String()+".xml", nil, "")
	if got := elementOrder(t, w.Body.Bytes(), "request"); strings.Join(got, ",") != "service_request_id,token" {
		t.Errorf("token answer %v: %s", got, w.Body)
	}
	if !strings.Contains(w.Body.String(), "2026-000007") {
		t.Errorf("token answer lacks the case number: %s", w.Body)
	}
	assertError(t, f.do(t, http.MethodGet, "/open311/v2/tokens/"+uuid.NewString()+".json", nil, ""), 404, "")
	assertError(t, f.do(t, http.MethodGet, "/open311/v2/services.csv", nil, ""), 404, "xml")
	assertError(t, f.do(t, http.MethodGet, "/open311/v2/nothing.json", nil, ""), 404, "")
	assertError(t, f.do(t, http.MethodGet, "/open311/v2/requests/.json", nil, ""), 404, "")
	assertError(t, f.do(t, http.MethodGet, "/open311/v2/requests/%00.json", nil, ""), 404, "")
	// An agency nobody is: an empty list, not an error.
	if w := f.do(t, http.MethodGet, "/open311/v2/requests.json?agency_responsible=Feuerwehr", nil, ""); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" {
		t.Errorf("unknown agency: %d %s", w.Code, w.Body)
	}
}
