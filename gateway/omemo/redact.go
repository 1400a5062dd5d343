package omemo

import "strings"

// redactedError is an error whose text names a correspondent only by the
// domain of their bare JID; errors.Is and errors.As still see the error
// it wraps. libsignal names the remote address ("jid:device") in some
// errors (no session found for user …), and the gateway logs what
// Decrypt and Encrypt return: logs keep no correspondent's JID (GDPR
// Art. 5(1)(c), data minimisation), as everywhere else in fieldgate.
type redactedError struct {
	err error
	msg string
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// redact returns err with every occurrence of jid (a bare JID) in its
// text replaced by "…@" and the JID's domain. A JID without a local part
// (a server or component) is no person's and is left as it is.
func redact(err error, jid string) error {
	if err == nil {
		return nil
	}
	local, domain, ok := strings.Cut(jid, "@")
	if !ok || local == "" || !strings.Contains(err.Error(), jid) {
		return err
	}
	return redactedError{err: err, msg: strings.ReplaceAll(err.Error(), jid, "…@"+domain)}
}

// domainOf is the domain of a bare JID ("" for a domain JID's local part).
func domainOf(jid string) string {
	if _, domain, ok := strings.Cut(jid, "@"); ok {
		return domain
	}
	return jid
}
