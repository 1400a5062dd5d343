package routing

import (
	"regexp"
	"slices"
	"time"
)

// Open311Service publishes a function address as an Open311 GeoReport v2
// service (wiki.open311.org/GeoReport_v2, "GET Service List" and "GET
// Service Definition"). An address without one is not offered over
// Open311, and its reports are never listed there.
type Open311Service struct {
	Code           string // service_code; default the address name
	Group          string // group
	Keywords       []string
	Notice         string        // service_notice, shown after a request is filed
	ExpectedWithin time.Duration // expected_datetime = requested + this; 0 = not stated
	Attributes     []Open311Attribute
}

// Open311Attribute is one attribute of a service definition. Datatype is
// one of the spec's string, number, datetime, text, singlevaluelist,
// multivaluelist; Values are the choices of the two list types.
type Open311Attribute struct {
	Code                string
	Datatype            string
	Description         string
	DatatypeDescription string
	Required            bool
	Order               int // 1-based, the order written in the file
	Values              []Open311Value
}

// Open311Value is a choice of a list attribute: key is sent, name shown.
type Open311Value struct {
	Key, Name string
}

// Open311 datatypes (GeoReport v2, "GET Service Definition").
var open311Datatypes = map[string]bool{
	"string": true, "number": true, "datetime": true, "text": true,
	"singlevaluelist": true, "multivaluelist": true,
}

var open311CodeRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

type rawOpen311 struct {
	ServiceCode    lined[string]           `yaml:"service_code"`
	Group          string                  `yaml:"group"`
	Keywords       strList                 `yaml:"keywords"`
	ServiceNotice  string                  `yaml:"service_notice"`
	ExpectedWithin lined[string]           `yaml:"expected_within"`
	Attributes     []lined[rawOpen311Attr] `yaml:"attributes"`
}

type rawOpen311Attr struct {
	Code                lined[string] `yaml:"code"`
	Datatype            lined[string] `yaml:"datatype"`
	Description         string        `yaml:"description"`
	DatatypeDescription string        `yaml:"datatype_description"`
	Required            bool          `yaml:"required"`
	Values              omap[string]  `yaml:"values"`
}

// compileOpen311 checks an address's open311 block; codes must be unique
// across the file.
func (c *compiler) compileOpen311(addr string, raw *rawOpen311, codes map[string]string) *Open311Service {
	if raw == nil {
		return nil
	}
	svc := &Open311Service{Code: addr, Group: raw.Group, Keywords: raw.Keywords.V, Notice: raw.ServiceNotice}
	if raw.ServiceCode.Set {
		svc.Code = raw.ServiceCode.V
		if !open311CodeRe.MatchString(svc.Code) {
			c.ps.add(raw.ServiceCode.Line, "address %q: open311 service_code %q: use 1-64 letters, digits, '_', '-' or '.'", addr, svc.Code)
		}
	}
	if prev, ok := codes[svc.Code]; ok {
		c.ps.add(raw.ServiceCode.Line, "address %q: open311 service_code %q is already used by address %q", addr, svc.Code, prev)
	}
	codes[svc.Code] = addr
	svc.ExpectedWithin = c.parseDuration(raw.ExpectedWithin, "address "+addr+": open311 expected_within")
	seen := map[string]bool{}
	for i, la := range raw.Attributes {
		a := la.V
		at := Open311Attribute{Code: a.Code.V, Datatype: a.Datatype.V, Description: a.Description,
			DatatypeDescription: a.DatatypeDescription, Required: a.Required, Order: i + 1}
		switch {
		case !open311CodeRe.MatchString(at.Code):
			c.ps.add(la.Line, "address %q: open311 attribute code %q: use 1-64 letters, digits, '_', '-' or '.'", addr, at.Code)
		case seen[at.Code]:
			c.ps.add(a.Code.Line, "address %q: open311 attribute %q is defined twice", addr, at.Code)
		}
		seen[at.Code] = true
		if !open311Datatypes[at.Datatype] {
			c.ps.add(la.Line, "address %q: open311 attribute %q: datatype %q is not one of string, number, datetime, text, singlevaluelist, multivaluelist", addr, at.Code, at.Datatype)
		}
		for _, v := range a.Values {
			at.Values = append(at.Values, Open311Value{Key: v.Key, Name: v.V})
		}
		isList := at.Datatype == "singlevaluelist" || at.Datatype == "multivaluelist"
		if isList && len(at.Values) == 0 {
			c.ps.add(la.Line, "address %q: open311 attribute %q: a %s needs values (key: name)", addr, at.Code, at.Datatype)
		}
		if !isList && len(at.Values) > 0 {
			c.ps.add(la.Line, "address %q: open311 attribute %q: values are only for singlevaluelist and multivaluelist", addr, at.Code)
		}
		svc.Attributes = append(svc.Attributes, at)
	}
	return svc
}

// Open311Teams returns the ids of the teams that a report to a published
// (Open311) address can be routed to by the rules: the published
// addresses' default teams (the file's default for those without one) and
// the teams of rules that name no address or a published one. A request
// handed to any other team (a dispatcher's reassignment to the youth
// welfare office) is no longer public. Never nil.
func (rs *RuleSet) Open311Teams() []string {
	published := map[int32]bool{}
	teams := []string{}
	add := func(team string) {
		if team != "" && !slices.Contains(teams, team) {
			teams = append(teams, team)
		}
	}
	for i, a := range rs.addrs {
		if a.Open311 == nil {
			continue
		}
		published[int32(i)] = true
		if d := rs.addrDefs[i]; d != nil {
			add(d.team)
		} else {
			add(rs.def.team)
		}
	}
	if len(published) == 0 {
		return teams
	}
	for _, r := range rs.rules {
		if len(r.addrs) == 0 || slices.ContainsFunc(r.addrs, func(a int32) bool { return published[a] }) {
			add(r.act.team)
		}
	}
	return teams
}
