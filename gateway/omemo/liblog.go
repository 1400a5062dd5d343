package omemo

import (
	"sync"

	signallog "go.mau.fi/libsignal/logger"
)

// libsignal logs through a package-level logger of its own (to stdout by
// default). Its debug messages print secrets: the message key of every
// message ("Using cipherKey: …"), whole session records and states (root
// and chain keys), MACs; its warnings and errors name correspondents
// (jid:device). None of it may reach fieldgate's log, at any level: the
// sealed session rows would be worth nothing next to a debug log. Every
// failure that matters is returned as an error, which the gateway logs
// without the correspondent's JID (redact).
var setLibLogger sync.Once

type libLogger struct{}

func (libLogger) Debug(string, string)   {}
func (libLogger) Info(string, string)    {}
func (libLogger) Warning(string, string) {}
func (libLogger) Error(string, string)   {}
func (libLogger) Configure(string)       {}

func routeLibLogs() {
	setLibLogger.Do(func() {
		var l signallog.Loggable = libLogger{}
		signallog.Setup(&l)
	})
}
