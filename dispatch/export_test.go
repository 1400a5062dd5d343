package dispatch

// HoldCaseCounter is holdCaseCounter for the external tests (package
// dispatch_test).
var HoldCaseCounter = holdCaseCounter
