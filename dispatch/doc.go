// Package dispatch is fieldgate's domain: reports, incidents and their
// lifecycle (received → routed → acknowledged → resolved), the durable job
// queue that moves them, and the audit trail of every transition.
//
// What a transaction decides to tell someone 1:1 (a reporter's "Meldung
// … angenommen", status news) is written with it into chat_outbox and sent
// by the committing process right after the commit, without a queue job;
// the queue sends only what that process could not (outbox.go). Room
// posts, processing and first escalation steps take the same way
// (handover.go). Without the reply's job, PostgreSQL spends about a third
// less per messenger report: 3.8 → 2.6 CPU-ms, medians of four bench runs
// each (deploy/SCALING.md, eleventh round).
//
// The edges (gateway/ for XMPP, api/ for HTTP) translate protocol to calls
// of Service and back; dispatch declares the small interfaces it needs from
// them (Messenger, Media, Rules) and never imports the edges.
package dispatch
