// Package dispatch is fieldgate's domain: reports, incidents and their
// lifecycle (received → routed → acknowledged → resolved), the durable job
// queue that moves them, and the audit trail of every transition.
//
// The edges (gateway/ for XMPP, api/ for HTTP) translate protocol to calls
// of Service and back; dispatch declares the small interfaces it needs from
// them (Messenger, Media, Rules) and never imports the edges.
package dispatch
