package dispatch

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// renderPost builds the team-room text of an incident and its photo links.
// It runs at send time, so links are fresh even after a long outage.
// A non-nil reportID renders that follow-up instead of the incident.
func (s *Service) renderPost(ctx context.Context, incidentID, reportID uuid.UUID) (string, []string, error) {
	inc, err := scanIncident(s.pool.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, incidentID))
	if err != nil {
		return "", nil, err
	}
	if reportID == uuid.Nil {
		if err := s.pool.QueryRow(ctx, `SELECT id FROM reports WHERE incident_id = $1 AND kind = 'report' ORDER BY received_at LIMIT 1`, incidentID).Scan(&reportID); err != nil {
			return "", nil, fmt.Errorf("load incident report: %w", err)
		}
	}
	rep, err := s.loadReport(ctx, s.pool, reportID)
	if err != nil {
		return "", nil, err
	}
	rs := s.rules.Current()
	team, _ := rs.Team(inc.Team)
	lang := team.Language
	if lang == "" {
		lang = "de"
	}
	teamName := team.Name
	if teamName == "" {
		teamName = inc.Team
	}

	var b strings.Builder
	if rep.Kind == "followup" {
		b.WriteString(T(lang, "followup_post", inc.CaseNumber))
	} else {
		b.WriteString("🆕 ")
		b.WriteString(T(lang, "post_header", inc.CaseNumber, teamName))
		if inc.Priority == "urgent" {
			b.WriteString(" · ⚠️ " + T(lang, "urgent"))
		}
	}
	b.WriteString("\n")
	if t := QuoteUserText(rep.Text); t != "" {
		b.WriteString(t)
		b.WriteString("\n")
	}
	if p := rep.Position; p != nil {
		lat := strconv.FormatFloat(p.Lat, 'f', 6, 64)
		lon := strconv.FormatFloat(p.Lon, 'f', 6, 64)
		b.WriteString("📍 ")
		if inc.District != "" {
			b.WriteString(T(lang, "district", inc.District) + " · ")
		}
		fmt.Fprintf(&b, "geo:%s,%s · https://www.openstreetmap.org/?mlat=%s&mlon=%s#map=18/%s/%s\n", lat, lon, lat, lon, lat, lon)
	} else if rep.Kind != "followup" {
		b.WriteString(T(lang, "no_position") + "\n")
	}
	var links []string
	if s.media != nil {
		for _, m := range rep.Media {
			if m.DerivativeKey == "" {
				// No privacy-safe team copy (HEIC, PDF, video, undecodable):
				// the original is never linked in a room; dispatchers and the
				// team fetch it through the API, which checks their rights.
				b.WriteString(T(lang, "attachment_no_preview", m.Object.ContentType, humanSize(m.Object.Size), inc.CaseNumber) + "\n")
				continue
			}
			u, err := s.media.PresignGet(ctx, m.DerivativeKey)
			if err != nil {
				s.log.WarnContext(ctx, "photo link failed", "case", inc.CaseNumber, "err", err)
				b.WriteString(T(lang, "attachment_no_preview", m.Object.ContentType, humanSize(m.Object.Size), inc.CaseNumber) + "\n")
				continue
			}
			links = append(links, u)
			b.WriteString(T(lang, "photo", u) + "\n")
		}
	}
	n := caseSeq(inc.CaseNumber)
	b.WriteString(T(lang, "actions", n, n))
	return b.String(), links, nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
