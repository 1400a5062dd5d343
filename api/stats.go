package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
)

type statsRowJSON struct {
	Key            string   `json:"key"`
	Incidents      int      `json:"incidents"`
	Acknowledged   int      `json:"acknowledged"`
	AckMedianS     *float64 `json:"ack_median_s"`
	AckP90S        *float64 `json:"ack_p90_s"`
	ResolveMedianS *float64 `json:"resolve_median_s"`
	ResolveP90S    *float64 `json:"resolve_p90_s"`
}

type policyStatsJSON struct {
	Policy      string `json:"policy"`
	Incidents   int    `json:"incidents"`
	Escalated   int    `json:"escalated"`
	Escalations int    `json:"escalations"`
}

type statsJSON struct {
	By          string            `json:"by"`
	Since       time.Time         `json:"since"`
	Rows        []statsRowJSON    `json:"rows"`
	Escalations []policyStatsJSON `json:"escalations"`
}

// getStats serves GET /api/v1/stats?by=team|district|week&days=N
// (default team, 30): time to acknowledge and to resolve in seconds,
// median and 90th percentile, and escalations per policy, over the
// incidents the caller may see. format=csv answers text/csv (RFC 4180).
func (s *Server) getStats(c *gin.Context) {
	scope, ok := viewScope(token(c))
	if !ok {
		problem(c, probForbidden, msg.Texts.StatsForbidden)
		return
	}
	days := 30
	if v := c.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3660 {
			problem(c, probInvalidFilter, func(t msg.Texts) string { return t.StatsDays(1, 3660) })
			return
		}
		days = n
	}
	by := c.DefaultQuery("by", dispatch.StatsByTeam)
	st, err := s.disp.IncidentStats(c.Request.Context(), by, s.now().AddDate(0, 0, -days), scope)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := statsJSON{By: by, Since: st.Since, Rows: []statsRowJSON{}, Escalations: []policyStatsJSON{}}
	for _, r := range st.Rows {
		out.Rows = append(out.Rows, statsRowJSON{Key: r.Key, Incidents: r.Incidents, Acknowledged: r.Acknowledged,
			AckMedianS: r.AckMedian, AckP90S: r.AckP90, ResolveMedianS: r.ResolveMedian, ResolveP90S: r.ResolveP90})
	}
	for _, p := range st.Escalations {
		out.Escalations = append(out.Escalations, policyStatsJSON(p))
	}
	c.Header("Cache-Control", "no-store")
	if c.Query("format") == "csv" {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="fieldgate-`+by+`.csv"`)
		w := csv.NewWriter(c.Writer)
		_ = w.Write([]string{by, "incidents", "acknowledged", "ack_median_s", "ack_p90_s", "resolve_median_s", "resolve_p90_s"})
		for _, r := range out.Rows {
			_ = w.Write([]string{csvText(r.Key), strconv.Itoa(r.Incidents), strconv.Itoa(r.Acknowledged),
				num(r.AckMedianS), num(r.AckP90S), num(r.ResolveMedianS), num(r.ResolveP90S)})
		}
		_ = w.Write(nil)
		_ = w.Write([]string{"policy", "incidents", "escalated", "escalations"})
		for _, p := range out.Escalations {
			_ = w.Write([]string{csvText(p.Policy), strconv.Itoa(p.Incidents), strconv.Itoa(p.Escalated), strconv.Itoa(p.Escalations)})
		}
		w.Flush()
		return
	}
	c.JSON(http.StatusOK, out)
}

// csvText defuses a name (district, policy: from the rules' files) that a
// spreadsheet opening the export would run as a formula (CSV injection,
// OWASP): a cell that starts with =, +, -, @, tab or CR gets a leading
// apostrophe, which spreadsheets show as text.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func num(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', 0, 64)
}
