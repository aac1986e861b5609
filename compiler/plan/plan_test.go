package plan

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pre() Preimage {
	p := Preimage{
		Backend: "docker", Platform: "linux/amd64", Image: "sha256:" + strings.Repeat("a", 64),
		Argv:    []string{"python3", "train.py", "--lr", "0.1"},
		Env:     []EnvVar{{"B", "2"}, {"A", "1"}},
		Secrets: []string{"TOKEN"},
		Params:  []Param{{Name: "lr", Kind: "number", Value: "0.1"}, {Name: "epochs", Kind: "number", Value: "3"}},
		Inputs:  []KeyIO{{Name: "vitals", Path: "data/vitals.csv", Digest: "blake3:" + strings.Repeat("1", 64)}},
		Outputs: []KeyIO{{Name: "model", Path: "out/model.npz", Kind: "model"}},
	}
	p.Normalize()
	return p
}

func TestPreimageText(t *testing.T) {
	p := pre()
	want := `lattice-action-key 1
salt "` + Salt + `"
backend "docker"
platform "linux/amd64"
image "sha256:` + strings.Repeat("a", 64) + `"
code ""
argv "python3" "train.py" "--lr" "0.1"
env "A" "1"
env "B" "2"
secret "TOKEN"
param "epochs" number "3"
param "lr" number "0.1"
input "vitals" "data/vitals.csv" blake3:` + strings.Repeat("1", 64) + `
output "model" "out/model.npz" model
network false
`
	if diff := cmp.Diff(want, p.Text()); diff != "" {
		t.Errorf("pre-image (-want +got):\n%s", diff)
	}
	if p.Key().IsZero() {
		t.Fatal("complete pre-image has no key")
	}
}

func TestKeyChangesWithEveryField(t *testing.T) {
	base := pre()
	edits := map[string]func(p *Preimage){
		"backend":  func(p *Preimage) { p.Backend = "local" },
		"platform": func(p *Preimage) { p.Platform = "linux/arm64" },
		"image":    func(p *Preimage) { p.Image = "sha256:" + strings.Repeat("b", 64) },
		"code":     func(p *Preimage) { p.Code = "blake3:" + strings.Repeat("c", 64) },
		"argv":     func(p *Preimage) { p.Argv = append(p.Argv, "--fast") },
		"env":      func(p *Preimage) { p.Env[0].Value = "x" },
		"secret":   func(p *Preimage) { p.Secrets = nil },
		"param":    func(p *Preimage) { p.Params[1].Value = "0.3" },
		"kind":     func(p *Preimage) { p.Params[1].Kind = "string" },
		"input":    func(p *Preimage) { p.Inputs[0].Digest = "blake3:" + strings.Repeat("2", 64) },
		"path":     func(p *Preimage) { p.Inputs[0].Path = "data/v2.csv" },
		"output":   func(p *Preimage) { p.Outputs[0].Kind = "data" },
		"network":  func(p *Preimage) { p.Network = true },
	}
	for name, edit := range edits {
		p := pre()
		p.Env = append([]EnvVar(nil), base.Env...)
		p.Params = append([]Param(nil), base.Params...)
		p.Inputs = append([]KeyIO(nil), base.Inputs...)
		p.Outputs = append([]KeyIO(nil), base.Outputs...)
		edit(&p)
		if p.Key() == base.Key() {
			t.Errorf("%s: changing it does not change the key", name)
		}
		if len(p.Diff(&base)) == 0 {
			t.Errorf("%s: Diff sees no change", name)
		}
	}
}

func TestPendingInputHasNoKey(t *testing.T) {
	p := pre()
	p.Inputs[0].Digest = Pending
	if !p.Key().IsZero() || p.Complete() {
		t.Fatal("a pending input must leave the key empty")
	}
}

func TestDiffNamesParams(t *testing.T) {
	old, cur := pre(), pre()
	cur.Params[1].Value = "0.3"
	got := cur.Diff(&old)
	want := []Change{{Field: "params.lr", Old: "0.1", New: "0.3"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	if s := got[0].String(); s != "params.lr: 0.1 → 0.3" {
		t.Errorf("String() = %q", s)
	}
}

func TestOrder(t *testing.T) {
	stages := []*Stage{
		{Name: "d", Deps: []string{"b", "c"}},
		{Name: "b", Deps: []string{"a"}},
		{Name: "c", Deps: []string{"a"}},
		{Name: "a"},
		{Name: "e"},
	}
	got, err := Order(stages)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e"}, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if _, err := Order([]*Stage{{Name: "x", Deps: []string{"y"}}, {Name: "y", Deps: []string{"x"}}}); err == nil {
		t.Error("a cycle must be an error")
	}
}

func TestUnmarshalRefusesOtherVersions(t *testing.T) {
	p := &Plan{FormatVersion: FormatVersion, Tool: Tool{Name: "lattice", Version: "1"}}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	future := strings.Replace(string(b), `"format_version": "1"`, `"format_version": "9"`, 1)
	if _, err := Unmarshal([]byte(future)); err == nil || !strings.Contains(err.Error(), `plan format version "9"`) {
		t.Errorf("future version: %v", err)
	}
	if _, err := Unmarshal([]byte(`{"x": 1}`)); err == nil {
		t.Error("a JSON file that is not a plan must be refused")
	}
	if !strings.Contains(string(b), `"stages": []`) {
		t.Error("arrays must render as [] rather than null")
	}
}

func TestDiffLocksAndPinChanges(t *testing.T) {
	p1 := pre()
	p2 := pre()
	p2.Params[1].Value = "0.3"
	a := NewLock()
	a.Datasets["vitals"] = &LockedDataset{Path: "data/vitals.csv", Digest: "blake3:" + strings.Repeat("1", 64)}
	a.Stages["train"] = &LockedStage{Key: p1.Key().String(), Preimage: p1, Outputs: map[string]*LockedOutput{}}
	a.Stages["gone"] = &LockedStage{Key: p1.Key().String(), Preimage: p1}
	b := NewLock()
	b.Datasets["vitals"] = a.Datasets["vitals"]
	b.Stages["train"] = &LockedStage{Key: p2.Key().String(), Preimage: p2, Outputs: map[string]*LockedOutput{}}
	b.Stages["new"] = &LockedStage{Key: p1.Key().String(), Preimage: p1}
	d := DiffLocks(a, b)
	var got []string
	for _, o := range d.Stages {
		got = append(got, o.Change+" "+o.Name)
	}
	if diff := cmp.Diff([]string{"removed gone", "added new", "changed train"}, got); diff != "" {
		t.Errorf("stage diff (-want +got):\n%s", diff)
	}
	if len(d.Datasets) != 0 {
		t.Errorf("datasets should not differ: %+v", d.Datasets)
	}

	pl := &Plan{
		Datasets: []*Dataset{{Name: "vitals", Digest: a.Datasets["vitals"].Digest}},
		Stages: []*Stage{
			{Name: "train", InLock: true, Changes: []Change{{Field: "params.lr", Old: "0.1", New: "0.3"}}},
			{Name: "eval", InLock: true, Changes: []Change{{Field: "inputs.model", Old: "blake3:x", New: Pending}}},
		},
	}
	ch := pl.PinChanges(a)
	if diff := cmp.Diff([]string{"stage train: params.lr: 0.1 → 0.3"}, ch); diff != "" {
		t.Errorf("pin changes (-want +got):\n%s", diff)
	}
}
