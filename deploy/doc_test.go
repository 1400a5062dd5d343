// Package deploy_test checks the files in deploy/ that fieldgate cannot run
// here in full: alert rules and dashboard (monitoring_test.go), the systemd
// unit (systemd_test.go) and the Kubernetes manifests (k8s_test.go); the
// container files are checked in cmd/fieldgate/container_test.go, which
// knows the configuration keys. They are unit tests of files: they
// run under -short too.
package deploy_test
