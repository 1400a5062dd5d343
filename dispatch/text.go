package dispatch

import "github.com/fieldgate/fieldgate/internal/msg"

// notJoinedText tells a sender why a message opened the new case rather
// than joining their previous one.
func notJoinedText(lang string, g grouping, prev, caseNumber string) string {
	switch g.Reason {
	case ReasonFarPosition:
		return msg.For(lang).NotJoinedFarPosition(int(g.DistanceM), prev, caseNumber)
	case ReasonCaseClosed:
		return msg.For(lang).NotJoinedCaseClosed(prev, caseNumber)
	}
	return msg.For(lang).NotJoinedCaseTaken(prev, caseNumber)
}

// EventName renders an audit event kind in lang (German by default); an
// unknown kind is shown as it is stored.
func EventName(lang, kind string) string { return msg.For(lang).EventName(kind) }
