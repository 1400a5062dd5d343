package routing

import (
	"strings"
	"testing"
)

func TestShadowing(t *testing.T) {
	cases := []struct {
		earlier, later string
		shadowed       bool
	}{
		{"{address: kw}", "{address: kw, keywords: [baum]}", true},
		{"{address: [kw, adr]}", "{address: kw}", true},
		{"{address: kw}", "{address: [kw, adr]}", false},
		{"{keywords: [baum]}", "{keywords: [baumstumpf]}", true}, // prefix covers
		{"{keywords: [baumstumpf]}", "{keywords: [baum]}", false},
		{"{keywords: [baum, ast]}", "{keywords: [äste]}", true}, // äste folds to aste, ast is a prefix
		{"{area: [Quadrat, Loch]}", "{area: Loch}", true},
		{"{area: Loch}", "{area: [Quadrat, Loch]}", false},
		{"{near: {areas: [Loch], within: 500m}}", "{near: {areas: [Loch], within: 200m}}", true},
		{"{near: {areas: [Loch], within: 200m}}", "{near: {areas: [Loch], within: 500m}}", false},
		{"{near: {areas: [Loch], within: 200m}}", "{area: Loch}", true},
		{"{position: true}", "{area: Loch}", true},
		{"{position: true}", "{keywords: [baum]}", false},
		{"{position: false}", "{position: false, urgent: true}", true},
		{"{time: [{days: [mon-fri]}]}", "{time: [{days: [mon], hours: \"08:00-09:00\"}]}", true},
		{"{time: [{days: [mon-fri]}]}", "{time: [{days: [sat]}]}", false},
		{"{time: [{days: [sat], hours: \"00:00-06:00\"}, {days: [fri], hours: \"22:00-24:00\"}]}", "{time: [{days: [fri], hours: \"22:00-06:00\"}]}", false}, // a holiday Saturday
		{"{time: [{days: [mon-fri], hours: \"08:00-16:00\"}]}", "{working_hours: a}", true},
		{"{not_time: [{days: [mon-fri], hours: \"08:00-16:00\"}]}", "{outside_working_hours: a}", true},
		{"{outside_working_hours: a}", "{time: [{days: [sat]}]}", true},
		{"{sender: partner}", "{sender: [x@partner.example]}", true},
		{"{sender: [x@partner.example]}", "{sender: partner}", false},
		{"{sender: streife}", "{sender: [streife1@stadt.localhost]}", true},
		{"{urgent: true}", "{urgent: true, address: kw}", true},
		{"{urgent: true}", "{urgent: false}", false},
		{"{address: kw, keywords: [baum]}", "{address: kw}", false},
	}
	for _, c := range cases {
		file := unitHead + "rules:\n  - {name: earlier, match: " + c.earlier + ", team: a}\n  - {name: later, match: " + c.later + ", team: b}\ndefault: {team: leitstelle}\n"
		_, err := Load(writeRules(t, file, unitGeo))
		got := err != nil && strings.Contains(err.Error(), `rule "later" is unreachable`)
		if got != c.shadowed {
			t.Errorf("earlier %s, later %s: shadowed %v, want %v (err: %v)", c.earlier, c.later, got, c.shadowed, err)
		}
		if err != nil && !got {
			t.Errorf("earlier %s, later %s: unexpected error %v", c.earlier, c.later, err)
		}
	}
}

func TestOverlappingWindows(t *testing.T) {
	for _, c := range []struct {
		windows string
		overlap bool
	}{
		{`[{days: [mon-fri], hours: "08:00-12:00"}, {days: [mon-fri], hours: "12:00-16:00"}]`, false}, // touching is fine
		{`[{days: [mon-fri], hours: "08:00-12:01"}, {days: [mon-fri], hours: "12:00-16:00"}]`, true},
		{`[{days: [fri], hours: "22:00-06:00"}, {days: [sat], hours: "05:00-07:00"}]`, true},
		{`[{days: [fri], hours: "22:00-06:00"}, {days: [sat], hours: "06:00-07:00"}]`, false},
		{`[{days: [sat, sun]}, {days: [holiday]}]`, false},
		{`[{hours: "10:00-11:00"}, {days: [holiday], hours: "10:30-10:45"}]`, true},
	} {
		file := unitHead + "rules:\n  - {name: r, match: {time: " + c.windows + "}, team: a}\ndefault: {team: leitstelle}\n"
		_, err := Load(writeRules(t, file, unitGeo))
		got := err != nil && strings.Contains(err.Error(), "overlaps window")
		if got != c.overlap || (err != nil && !got) {
			t.Errorf("%s: overlap %v, want %v (err %v)", c.windows, got, c.overlap, err)
		}
	}
}
