package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/internal/msg"
)

// readJSONObject reads a command's JSON body (RFC 8259) of at most
// maxFieldBytes into dst, a pointer to a struct of string fields with json
// tags, and answers the problem itself when it returns false:
//
//   - 415 unless Content-Type is application/json or a +json type;
//   - 413 over maxFieldBytes;
//   - 400 for bytes that are not UTF-8 (RFC 8259 §8.1), a member given
//     twice (§4 leaves duplicates to the implementation: the last would
//     win silently), a member dst does not have, a string with a NUL
//     (PostgreSQL text cannot hold one), or anything but one object.
//
// An empty body leaves dst as it is and is accepted when optional.
// badShape is the detail for a body that is not the expected object.
func (s *Server) readJSONObject(c *gin.Context, dst any, optional bool, badShape msg.Text) bool {
	body := newMinRateReader(c.Writer, c.Request.Body, s.cfg.MinBodyRate, s.cfg.BodyGrace, s.cfg.Now)
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, body, maxFieldBytes))
	if err != nil {
		s.fail(c, err)
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if optional {
			return true
		}
		problem(c, probInvalid, badShape)
		return false
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		problem(c, probContentType, msg.Texts.JSONContentType)
		return false
	}
	var bad badText // a raw NUL is not JSON: the decoder refuses it below
	if err := checkText(b); errors.As(err, &bad) && !bad.nul {
		problem(c, probInvalidText, func(t msg.Texts) string { return t.JSONNotUTF8(bad.offset) })
		return false
	}
	known := jsonNames(dst)
	members, ok := jsonMembers(b)
	if !ok {
		problem(c, probInvalid, badShape)
		return false
	}
	seen := map[string]bool{}
	for _, name := range members {
		if seen[name] {
			problem(c, probInvalid, func(t msg.Texts) string { return t.JSONDuplicateMember(name) })
			return false
		}
		seen[name] = true
		if !slices.Contains(known, name) {
			problem(c, probInvalid, func(t msg.Texts) string { return t.JSONUnknownMember(name, strings.Join(known, ", ")) })
			return false
		}
	}
	if err := json.Unmarshal(b, dst); err != nil {
		problem(c, probInvalid, badShape)
		return false
	}
	v := reflect.ValueOf(dst).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String && strings.ContainsRune(f.String(), 0) {
			name := jsonName(v.Type().Field(i))
			problem(c, probInvalidText, func(t msg.Texts) string { return t.JSONMemberNUL(name) })
			return false
		}
	}
	return true
}

// jsonMembers lists the member names of the one JSON object b holds, in
// order and with repeats; ok is false when b is not exactly one object.
func jsonMembers(b []byte) (names []string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		t, err := dec.Token()
		name, isName := t.(string)
		if err != nil || !isName {
			return nil, false
		}
		names = append(names, name)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // something after the object
	}
	return names, true
}

// jsonNames lists the JSON member names of the struct dst points to.
func jsonNames(dst any) []string {
	t := reflect.TypeOf(dst).Elem()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, jsonName(t.Field(i)))
	}
	return names
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}
