package bench

import (
	"math"
	"slices"
	"time"
)

// Kinds of samples.
const (
	KindFieldgate = "fieldgate" // a report through the gateway
	KindFloor     = "floor"     // the raw operations alone
)

// Sample is one report (or one floor operation).
type Sample struct {
	Load  string
	Kind  string
	Seq   int
	Start time.Duration // since the load began
	// Accept is until the sender was told the case number (fieldgate) or
	// the row was committed (floor); E2E until the room reflected the post.
	Accept, E2E time.Duration
	// Link is until the room showed a post of the case that links the
	// photo's team copy (photo reports only; 0: none within LinkWait
	// after the post). It equals E2E when the first post carries the link.
	Link time.Duration
	Err  string
}

// Summary is one kind of one load, as in the --json output.
type Summary struct {
	OK          int     `json:"ok"`
	Errors      int     `json:"errors"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	AcceptP50ms float64 `json:"accept_p50_ms"`
	AcceptP99ms float64 `json:"accept_p99_ms"`
	Throughput  float64 `json:"throughput_per_s"`
	// Linked counts reports whose post linked the photo's team copy;
	// LinkP50ms/LinkP99ms are the latencies until it did (photo loads).
	Linked    int     `json:"linked,omitempty"`
	LinkP50ms float64 `json:"link_p50_ms,omitempty"`
	LinkP99ms float64 `json:"link_p99_ms,omitempty"`
}

// Result is one load's figures: fieldgate's, the floor's and their ratios
// (p50_ratio = fieldgate p50 / floor p50, above 1 is slower;
// throughput_ratio = fieldgate / floor, below 1 is slower).
type Result struct {
	Load        string  `json:"load"`
	Mode        string  `json:"mode"`
	Count       int     `json:"count"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate_per_s,omitempty"`
	PhotoBytes  int64   `json:"photo_bytes"`
	// FloorEncryption is the server-side encryption of the floor's PUT
	// (sse-s3, sse-c or none; Config.S3Encryption), for loads with photos.
	FloorEncryption string  `json:"floor_encryption,omitempty"`
	Fieldgate       Summary `json:"fieldgate"`
	Floor           Summary `json:"floor"`
	P50Ratio        float64 `json:"p50_ratio"`
	ThroughputRatio float64 `json:"throughput_ratio"`
	// Target is the load's target as text; TargetMet whether it was reached
	// (absent without a target).
	Target    string `json:"target,omitempty"`
	TargetMet *bool  `json:"target_met,omitempty"`
	// LoadAvg is the machine's 1-minute load average when the load began
	// and ended (-1: unknown): figures from a busy machine are not
	// comparable with a quiet one's.
	LoadAvg [2]float64 `json:"load_avg_1m"`
	// CPU is what each watched process used per operation in the floor's
	// phase and in fieldgate's (Config.Watch; absent without).
	CPU []CPUUse `json:"cpu,omitempty"`
}

// summarize computes percentiles (nearest rank) of the successful samples
// and the throughput: successful reports per second from the first start
// to the last room reflection.
func summarize(samples []Sample) Summary {
	var s Summary
	var e2e, acc, link []time.Duration
	var first, last time.Duration = -1, 0
	for _, x := range samples {
		if x.Err != "" {
			s.Errors++
			continue
		}
		s.OK++
		e2e = append(e2e, x.E2E)
		acc = append(acc, x.Accept)
		if x.Link > 0 {
			link = append(link, x.Link)
		}
		if first < 0 || x.Start < first {
			first = x.Start
		}
		last = max(last, x.Start+x.E2E)
	}
	if s.OK == 0 {
		return s
	}
	s.P50ms, s.P99ms = ms(percentile(e2e, 50)), ms(percentile(e2e, 99))
	s.AcceptP50ms, s.AcceptP99ms = ms(percentile(acc, 50)), ms(percentile(acc, 99))
	s.Linked = len(link)
	s.LinkP50ms, s.LinkP99ms = ms(percentile(link, 50)), ms(percentile(link, 99))
	if span := last - first; span > 0 {
		s.Throughput = round3(float64(s.OK) / span.Seconds())
	}
	return s
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100).
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return round3(a / b)
}
