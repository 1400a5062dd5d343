package omemo

import (
	"log/slog"
	"sync"

	signallog "go.mau.fi/libsignal/logger"
)

// libsignal logs through a package-level logger of its own (to stdout by
// default). Its messages are routed to slog at debug level: every failure
// that matters is returned as an error and logged by the gateway.
var setLibLogger sync.Once

type libLogger struct{ log *slog.Logger }

func (l libLogger) Debug(caller, msg string)   { l.log.Debug(msg, "caller", caller) }
func (l libLogger) Info(caller, msg string)    { l.log.Debug(msg, "caller", caller) }
func (l libLogger) Warning(caller, msg string) { l.log.Debug(msg, "caller", caller) }
func (l libLogger) Error(caller, msg string)   { l.log.Debug(msg, "caller", caller) }
func (l libLogger) Configure(string)           {}

func routeLibLogs(log *slog.Logger) {
	setLibLogger.Do(func() {
		var l signallog.Loggable = libLogger{log: log.With("lib", "libsignal")}
		signallog.Setup(&l)
	})
}
