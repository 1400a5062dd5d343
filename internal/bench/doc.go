// Package bench measures a running fieldgate the way pgbench or nats bench
// measure theirs, for admins sizing a server: it files reports over HTTP
// (POST /api/v1/reports) or XMPP (a c2s session per field worker, photos
// through XEP-0363 HTTP upload, the URL as XEP-0066 OOB), closed loop (a
// fixed number in flight) or open loop (a fixed arrival rate), and times
// acceptance (the answer with the case number) and the end-to-end latency
// until the team room reflects the post, as a room member sees it.
//
// In the same run it measures the raw floor: an S3 PUT of the same bytes,
// one INSERT and one room message of a spare XMPP component (XEP-0114),
// until the member sees it reflected. Figures are reported as ratios to
// the floor, which makes them comparable across machines and loads.
//
// It sends only to loopback addresses and hosts explicitly allowed, and
// every load is bounded in count and time. Outputs: a table, one JSON
// object per load, a CSV line per report and a PNG scatter plot of latency
// over time per load (drawn with image/png and a bitmap font: a scatter
// plot needs no plotting library).
package bench
