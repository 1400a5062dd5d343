package deploy_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBackupUnitHasAStartTimeout: a Type=oneshot unit has no start
// timeout unless it sets one (systemd.service(5), TimeoutStartSec=). A
// backup hung on a dead connection would then run for ever: the timer
// starts no other run, and retention waits while a backup holds its lock.
// The unit sets a finite TimeoutStartSec, read as systemd reads it.
func TestBackupUnitHasAStartTimeout(t *testing.T) {
	sa := requireTool(t, "systemd-analyze")
	b, err := os.ReadFile("fieldgate-backup.service")
	if err != nil {
		t.Fatal(err)
	}
	var value string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "TimeoutStartSec="); ok {
			value = v
		}
	}
	if value == "" {
		t.Fatal("fieldgate-backup.service sets no TimeoutStartSec: a hung backup runs for ever")
	}
	out, err := exec.Command(sa, "timespan", value).CombinedOutput()
	if err != nil || strings.Contains(string(out), "infinity") || !strings.Contains(string(out), "Human:") {
		t.Fatalf("TimeoutStartSec=%s: systemd reads %q (%v), want a finite span", value, out, err)
	}
	t.Logf("TimeoutStartSec=%s: %s", value, strings.TrimSpace(string(out)))
}
