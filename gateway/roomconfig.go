package gateway

import (
	"encoding/xml"
	"slices"
	"strings"
)

// ownerConfig is a submitted room configuration form (XEP-0045 §10.2,
// FORM_TYPE muc#roomconfig, field names from §15.5.3).
type ownerConfig struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#owner query"`
	Form    xForm
}

type xForm struct {
	XMLName xml.Name `xml:"jabber:x:data x"`
	Type    string   `xml:"type,attr"`
	Fields  []xField `xml:"field"`
}

type xField struct {
	Var    string   `xml:"var,attr"`
	Type   string   `xml:"type,attr,omitempty"`
	Values []string `xml:"value"`
}

// teamRoomConfig is how every team room must be configured: members-only
// (strangers cannot enter), non-anonymous (commands are attributed to real
// JIDs), persistent, hidden from the room directory, no invitations by
// occupants, unmoderated, archived (stanza-ids for replies and reactions).
// Unmoderated changes nothing for members (all of them are participants,
// XEP-0045 §5.1.2), but ejabberd before 23.10 admits a member removed from
// a moderated room again with the role it remembers for her (its commit
// 3eecf4ae8, "Remove existing role information for users that are kicked
// from room"); without moderation it asks her affiliation. archiving is
// the archiving field's name: muc#roomconfig_enablearchiving (Prosody), or
// "mam" (ejabberd, which refuses a form with a field it does not know).
func teamRoomConfig(name, archiving string) ownerConfig {
	f := func(v, val string) xField { return xField{Var: v, Values: []string{val}} }
	return ownerConfig{Form: xForm{Type: "submit", Fields: []xField{
		{Var: "FORM_TYPE", Type: "hidden", Values: []string{"http://jabber.org/protocol/muc#roomconfig"}},
		f("muc#roomconfig_roomname", name),
		f("muc#roomconfig_membersonly", "1"),
		f("muc#roomconfig_whois", "anyone"),
		f("muc#roomconfig_persistentroom", "1"),
		f("muc#roomconfig_publicroom", "0"),
		f("muc#roomconfig_allowinvites", "0"),
		f("muc#roomconfig_moderatedroom", "0"),
		f("muc#roomconfig_passwordprotectedroom", "0"),
		f(archiving, "1"),
	}}}
}

// Names of the room archiving field.
const (
	archivingField         = "muc#roomconfig_enablearchiving"
	archivingFieldEjabberd = "mam"
)

// adminQuery changes or lists affiliations (XEP-0045 §9.3-§9.8, §10.6).
type adminQuery struct {
	XMLName xml.Name    `xml:"http://jabber.org/protocol/muc#admin query"`
	Items   []adminItem `xml:"item"`
}

type adminItem struct {
	Affiliation string `xml:"affiliation,attr,omitempty"`
	JID         string `xml:"jid,attr,omitempty"`
	Nick        string `xml:"nick,attr,omitempty"`
	Role        string `xml:"role,attr,omitempty"`
}

// memberChanges compares a room's member list with the JIDs that should
// be members and returns the affiliation changes: "member" for those to
// add, "none" for those to remove. JIDs that hold owner or admin rights,
// or are banned (privileged), are left alone. The result is sorted by JID.
func memberChanges(current []string, privileged []string, want []string) []adminItem {
	norm := func(s []string) map[string]bool {
		m := make(map[string]bool, len(s))
		for _, j := range s {
			m[strings.ToLower(strings.TrimSpace(j))] = true
		}
		return m
	}
	cur, priv, w := norm(current), norm(privileged), norm(want)
	var out []adminItem
	for j := range w {
		if j != "" && !cur[j] && !priv[j] {
			out = append(out, adminItem{Affiliation: "member", JID: j})
		}
	}
	for j := range cur {
		if !w[j] {
			out = append(out, adminItem{Affiliation: "none", JID: j})
		}
	}
	slices.SortFunc(out, func(a, b adminItem) int { return strings.Compare(a.JID, b.JID) })
	return out
}
