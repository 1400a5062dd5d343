package open311

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/fieldgate/fieldgate/routing"
)

// Limits on attribute values (runes).
const (
	maxStringRunes = 500
	maxTextRunes   = 4000
)

// attrError is a refused attribute: what the client is told.
type attrError struct {
	text msg.Text
}

// attributeValues collects attribute[code] (and attribute[code][] for
// multivaluelist) from a form and checks them against the service
// definition. It returns code → value (list values joined by ",") in
// definition order for storage, and "Description: shown value" lines
// for the team's post.
func attributeValues(form url.Values, svc *routing.Open311Service) (map[string]string, []string, *attrError) {
	given := map[string][]string{}
	for k, vs := range form {
		code, ok := strings.CutPrefix(k, "attribute[")
		if !ok {
			continue
		}
		code = strings.TrimSuffix(strings.TrimSuffix(code, "[]"), "]")
		given[code] = append(given[code], vs...)
	}
	for code := range given {
		if !slices.ContainsFunc(svc.Attributes, func(a routing.Open311Attribute) bool { return a.Code == code }) {
			return nil, nil, &attrError{func(t msg.Texts) string { return t.Open311AttrUnknown(code, svc.Code) }}
		}
	}
	values := map[string]string{}
	var lines []string
	for _, a := range svc.Attributes {
		vs := nonEmpty(given[a.Code])
		if len(vs) == 0 {
			if a.Required {
				return nil, nil, &attrError{func(t msg.Texts) string { return t.Open311AttrRequired(a.Code) }}
			}
			continue
		}
		if a.Datatype != "multivaluelist" && len(vs) > 1 {
			return nil, nil, &attrError{func(t msg.Texts) string { return t.Open311AttrOne(a.Code) }}
		}
		shown := make([]string, 0, len(vs))
		for _, v := range vs {
			s, err := checkValue(a, v)
			if err != nil {
				return nil, nil, err
			}
			shown = append(shown, s)
		}
		values[a.Code] = strings.Join(vs, ",")
		label := a.Description
		if label == "" {
			label = a.Code
		}
		lines = append(lines, label+": "+strings.Join(shown, ", "))
	}
	return values, lines, nil
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// checkValue validates one value and returns how the team sees it.
func checkValue(a routing.Open311Attribute, v string) (string, *attrError) {
	switch a.Datatype {
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil || strings.ContainsAny(v, "xXpP_") || strings.EqualFold(v, "nan") ||
			strings.Contains(strings.ToLower(v), "inf") {
			return "", &attrError{func(t msg.Texts) string { return t.Open311AttrNumber(a.Code) }}
		}
	case "datetime":
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return "", &attrError{func(t msg.Texts) string { return t.Open311AttrDatetime(a.Code) }}
		}
	case "singlevaluelist", "multivaluelist":
		for _, val := range a.Values {
			if val.Key == v {
				return val.Name, nil
			}
		}
		keys := make([]string, len(a.Values))
		for i, val := range a.Values {
			keys[i] = val.Key
		}
		return "", &attrError{func(t msg.Texts) string { return t.Open311AttrValue(a.Code, v, strings.Join(keys, ", ")) }}
	case "text":
		if utf8.RuneCountInString(v) > maxTextRunes {
			return "", &attrError{func(t msg.Texts) string { return t.Open311AttrTooLong(a.Code, maxTextRunes) }}
		}
	default: // string
		if utf8.RuneCountInString(v) > maxStringRunes {
			return "", &attrError{func(t msg.Texts) string { return t.Open311AttrTooLong(a.Code, maxStringRunes) }}
		}
	}
	return v, nil
}
