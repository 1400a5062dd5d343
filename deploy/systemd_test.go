package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireTool returns the path of a command the test needs. A missing one
// fails the test under CI=true (deploy/dev/services installs it there) and
// skips it elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " not installed (deploy/dev/services start installs it; or apt-get install it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// unitCopy writes the unit files to a temporary directory with the
// binary's path pointing at an executable that exists here (this test
// binary), since systemd-analyze verify checks ExecStart.
func unitCopy(t *testing.T, names ...string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out []string
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(n))
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/fieldgate", exe)), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

var units = []string{"fieldgate.service", "fieldgate-backup.service", "fieldgate-backup.timer"}

// TestSystemdUnitsVerify runs systemd-analyze verify on the units: any
// warning (an unknown or misspelt key, a bad value) fails the test.
func TestSystemdUnitsVerify(t *testing.T) {
	sa := requireTool(t, "systemd-analyze")
	files := unitCopy(t, units...)
	cmd := exec.Command(sa, append([]string{"verify", "--man=no"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdUnitHardened asks systemd-analyze security for the unit's
// exposure (0 = fully locked down, 10 = unprotected; "OK" is below 2.5)
// and checks the settings the operations guide promises.
func TestSystemdUnitHardened(t *testing.T) {
	sa := requireTool(t, "systemd-analyze")
	files := unitCopy(t, "fieldgate.service")
	out, err := exec.Command(sa, "security", "--offline=true", "--threshold=20", "--no-pager", files[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.0 or error: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Overall exposure level") {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	b, err := os.ReadFile("fieldgate.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
		"StateDirectory=fieldgate", "EnvironmentFile=/etc/fieldgate/fieldgate.env", "ExecStartPre=/usr/local/bin/fieldgate migrate"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("fieldgate.service lacks %q", strings.TrimSpace(want))
		}
	}
}
