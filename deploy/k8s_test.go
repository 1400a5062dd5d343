package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/fieldgate/fieldgate/routing"
)

// k8sObject is the part of a manifest the checks read.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec yaml.Node         `yaml:"spec"`
	Data map[string]string `yaml:"data"`
}

// buildOverlay runs kustomize (the library kubectl -k uses) on the example
// overlay and returns the objects by kind/name.
func buildOverlay(t *testing.T) map[string]k8sObject {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone // the example takes deploy/demo's rules
	resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), "k8s/overlays/example")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(strings.NewReader(string(out)))
	for {
		var o k8sObject
		if err := dec.Decode(&o); err != nil {
			break
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("object without apiVersion/kind/name: %+v", o)
		}
		objs[o.Kind+"/"+strings.Split(o.Metadata.Name, "-")[0]+suffixless(o.Metadata.Name)] = o
	}
	return objs
}

// suffixless keeps a generated ConfigMap's name without kustomize's hash.
func suffixless(name string) string {
	parts := strings.Split(name, "-")
	if len(parts) > 1 && len(parts[len(parts)-1]) == 10 {
		parts = parts[:len(parts)-1]
	}
	return strings.TrimPrefix(strings.Join(parts, "-"), parts[0])
}

// spec decodes an object's spec into v.
func spec(t *testing.T, o k8sObject, v any) {
	t.Helper()
	if err := o.Spec.Decode(v); err != nil {
		t.Fatalf("%s %s spec: %v", o.Kind, o.Metadata.Name, err)
	}
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		ValueFrom struct {
			SecretKeyRef struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	ReadinessProbe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
	} `yaml:"readinessProbe"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

// TestKubernetesManifests builds the example overlay with kustomize and
// checks what kubeconform's schemas cannot see (no schemas can be fetched
// here): ≥ 2 replicas, readiness on /readyz, selectors of Service, PDB and
// ServiceMonitor that match the pods, secrets only by reference, a
// non-root read-only container, the generated configuration mounted, and
// the rules in it valid for fieldgate.
func TestKubernetesManifests(t *testing.T) {
	objs := buildOverlay(t)
	for _, want := range []string{"Deployment/fieldgate", "Service/fieldgate", "PodDisruptionBudget/fieldgate",
		"ServiceMonitor/fieldgate", "ConfigMap/fieldgate-config", "ConfigMap/fieldgate-env"} {
		if _, ok := objs[want]; !ok {
			t.Errorf("kustomize output lacks %s (has %v)", want, keys(objs))
		}
	}
	if _, ok := objs["Secret/fieldgate"]; ok {
		t.Error("the kustomization ships a Secret; secrets must come from the operator")
	}
	for k, o := range objs {
		if o.Metadata.Namespace != "fieldgate" {
			t.Errorf("%s in namespace %q", k, o.Metadata.Namespace)
		}
	}

	var dep struct {
		Replicas int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
					RunAsUser    int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				InitContainers []container `yaml:"initContainers"`
				Containers     []container `yaml:"containers"`
				Volumes        []struct {
					Name      string `yaml:"name"`
					ConfigMap struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	}
	spec(t, objs["Deployment/fieldgate"], &dep)
	if dep.Replicas < 2 {
		t.Errorf("replicas = %d, want ≥ 2", dep.Replicas)
	}
	podLabels := dep.Template.Metadata.Labels
	if !matches(dep.Selector.MatchLabels, podLabels) {
		t.Errorf("deployment selector %v does not match pod labels %v", dep.Selector.MatchLabels, podLabels)
	}
	ps := dep.Template.Spec
	if !ps.SecurityContext.RunAsNonRoot || ps.SecurityContext.RunAsUser == 0 {
		t.Errorf("pod security context %+v: must run as a non-root user", ps.SecurityContext)
	}
	if len(ps.Containers) != 1 || len(ps.InitContainers) != 1 {
		t.Fatalf("want one container and the migrate init container, have %d and %d", len(ps.Containers), len(ps.InitContainers))
	}
	c := ps.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.ReadinessProbe.HTTPGet.Port != "http" {
		t.Errorf("readiness probe %+v, want GET /readyz on port http", c.ReadinessProbe)
	}
	if !slices.Equal(ps.InitContainers[0].Args, []string{"migrate"}) || !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("args: init %v, main %v", ps.InitContainers[0].Args, c.Args)
	}
	for _, ct := range append(ps.InitContainers, c) {
		if ct.Image != "registry.stadt.example/fieldgate:1.0.0" {
			t.Errorf("%s: image %q not set by the overlay", ct.Name, ct.Image)
		}
		sc := ct.SecurityContext
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !sc.ReadOnlyRootFilesystem || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: security context %+v", ct.Name, sc)
		}
		secrets := map[string]bool{}
		for _, e := range ct.Env {
			if ref := e.ValueFrom.SecretKeyRef; ref.Name != "" {
				if ref.Name != "fieldgate-secrets" || ref.Key == "" {
					t.Errorf("%s: env %s from secret %+v", ct.Name, e.Name, ref)
				}
				secrets[e.Name] = true
			}
		}
		for _, s := range []string{"FIELDGATE_DATABASE_URL", "FIELDGATE_S3_SECRET_KEY", "FIELDGATE_XMPP_SECRET"} {
			if !secrets[s] {
				t.Errorf("%s: %s is not taken from the Secret", ct.Name, s)
			}
		}
		if len(ct.EnvFrom) != 1 || ct.EnvFrom[0].ConfigMapRef.Name != objs["ConfigMap/fieldgate-env"].Metadata.Name {
			t.Errorf("%s: envFrom %+v does not name the generated ConfigMap %s", ct.Name, ct.EnvFrom, objs["ConfigMap/fieldgate-env"].Metadata.Name)
		}
	}
	mounted := false
	for _, v := range ps.Volumes {
		mounted = mounted || v.ConfigMap.Name == objs["ConfigMap/fieldgate-config"].Metadata.Name
	}
	if !mounted {
		t.Errorf("the generated config map %s is not mounted", objs["ConfigMap/fieldgate-config"].Metadata.Name)
	}

	var svc struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	}
	spec(t, objs["Service/fieldgate"], &svc)
	if !matches(svc.Selector, podLabels) || len(svc.Ports) == 0 || svc.Ports[0].TargetPort != "http" {
		t.Errorf("service %+v does not reach the pods' http port", svc)
	}
	var pdb struct {
		MinAvailable int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	}
	spec(t, objs["PodDisruptionBudget/fieldgate"], &pdb)
	if pdb.MinAvailable < 1 || pdb.MinAvailable >= dep.Replicas || !matches(pdb.Selector.MatchLabels, podLabels) {
		t.Errorf("pdb %+v with %d replicas", pdb, dep.Replicas)
	}
	var sm struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
	}
	spec(t, objs["ServiceMonitor/fieldgate"], &sm)
	if !matches(sm.Selector.MatchLabels, objs["Service/fieldgate"].Metadata.Labels) || len(sm.Endpoints) != 1 ||
		sm.Endpoints[0].Port != "http" || sm.Endpoints[0].Path != "/metrics" {
		t.Errorf("service monitor %+v does not select the service's http port", sm)
	}

	// The generated configuration is valid for fieldgate.
	cm := objs["ConfigMap/fieldgate-config"].Data
	dir := t.TempDir()
	for name, content := range cm {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := routing.NewEngine(filepath.Join(dir, "rules.yaml"), nil); err != nil {
		t.Errorf("rules in the config map: %v", err)
	}
	var fg map[string]any
	if err := yaml.Unmarshal([]byte(cm["fieldgate.yaml"]), &fg); err != nil || fg["xmpp"] == nil {
		t.Errorf("fieldgate.yaml in the config map: %v %v", err, fg)
	}
	if strings.Contains(strings.ToLower(cm["fieldgate.yaml"]), "secret_key:") || strings.Contains(cm["fieldgate.yaml"], "password") {
		t.Error("fieldgate.yaml in the config map carries a secret")
	}
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
