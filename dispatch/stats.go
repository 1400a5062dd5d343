package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"
)

// Stats groupings.
const (
	StatsByTeam     = "team"
	StatsByDistrict = "district"
	StatsByWeek     = "week" // ISO week start (Monday) in the service's time zone
)

// StatsRow is one group's response times, in seconds (nil when no
// incident of the group got that far).
type StatsRow struct {
	Key           string
	Incidents     int
	Acknowledged  int
	AckMedian     *float64
	AckP90        *float64
	ResolveMedian *float64
	ResolveP90    *float64
}

// PolicyStats counts escalations per escalation policy.
type PolicyStats struct {
	Policy      string
	Incidents   int // incidents under this policy
	Escalated   int // of which escalated at least once
	Escalations int // escalation steps taken
}

// Stats are the console's numbers for incidents created since a time.
type Stats struct {
	Since       time.Time
	Rows        []StatsRow
	Escalations []PolicyStats
}

// IncidentStats computes time to acknowledge and time to resolve (median
// and 90th percentile, continuous: PostgreSQL percentile_cont) per team,
// district or week for incidents created since since, merged duplicates
// excluded; and escalations per policy. scope limits teams as in
// IncidentFilter.Scope.
func (s *Service) IncidentStats(ctx context.Context, by string, since time.Time, scope []string) (Stats, error) {
	var key string
	switch by {
	case StatsByTeam, "":
		key = "coalesce(team,'')"
	case StatsByDistrict:
		key = "district"
	case StatsByWeek:
		key = "to_char(date_trunc('week', created_at AT TIME ZONE $3), 'IYYY-\"W\"IW')"
	default:
		return Stats{}, newError(ErrInvalid, msg.Texts.StatsBy)
	}
	out := Stats{Since: since, Rows: []StatsRow{}, Escalations: []PolicyStats{}}
	rows, err := s.pool.Query(ctx, `
		SELECT `+key+` AS k, count(*), count(acknowledged_at),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - created_at)),
			percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - created_at)),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)) FILTER (WHERE state = 'resolved'),
			percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)) FILTER (WHERE state = 'resolved')
		FROM incidents
		WHERE created_at >= $1 AND state <> 'merged' AND ($2::text[] IS NULL OR team = ANY($2)) AND $3::text IS NOT NULL
		GROUP BY k ORDER BY k`, since, scope, s.cfg.TimeZone.String())
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r StatsRow
		if err := rows.Scan(&r.Key, &r.Incidents, &r.Acknowledged, &r.AckMedian, &r.AckP90, &r.ResolveMedian, &r.ResolveP90); err != nil {
			return Stats{}, fmt.Errorf("stats: %w", err)
		}
		out.Rows = append(out.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	prow, err := s.pool.Query(ctx, `
		SELECT i.policy, count(*), count(*) FILTER (WHERE i.escalation_level > 0),
			coalesce(sum((SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'escalated')),0)
		FROM incidents i
		WHERE i.created_at >= $1 AND i.state <> 'merged' AND ($2::text[] IS NULL OR i.team = ANY($2))
		GROUP BY i.policy ORDER BY i.policy`, since, scope)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	defer prow.Close()
	for prow.Next() {
		var p PolicyStats
		if err := prow.Scan(&p.Policy, &p.Incidents, &p.Escalated, &p.Escalations); err != nil {
			return Stats{}, fmt.Errorf("stats: %w", err)
		}
		out.Escalations = append(out.Escalations, p)
	}
	return out, prow.Err()
}
