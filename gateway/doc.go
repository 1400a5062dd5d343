// Package gateway is fieldgate's XMPP edge: an XEP-0114 component whose
// every local part is a function address (tiefbau@reports.stadt.example).
//
// It parses incoming stanzas into dispatch calls, posts incidents into team
// rooms (MUC) and sends 1:1 messages. mellium's Session.Serve holds the
// stream while a handler runs, so the handler only decodes a stanza and
// hands it to a worker; everything that sends runs outside the handler.
package gateway
