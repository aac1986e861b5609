package lang

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

// TestFrontEndsAgree loads the same pipeline written in CUE, HCL and YAML
// and requires identical spec models, positions and file lists aside.
func TestFrontEndsAgree(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]*spec.Project{}
	for _, form := range []string{"cue", "hcl", "yaml"} {
		res, ds := l.Load("testdata/equiv/" + form)
		if len(ds) > 0 {
			t.Fatalf("%s: %v", form, ds)
		}
		models[form] = res.Project
	}
	ignore := cmp.Options{
		cmpopts.IgnoreTypes(spec.Positions{}, diag.Range{}),
		cmpopts.IgnoreFields(spec.Project{}, "Files"),
		cmpopts.EquateEmpty(),
	}
	if len(models["cue"].Stages) != 3 || len(models["cue"].Experiments) != 1 {
		t.Fatalf("the CUE model is incomplete: %d stages, %d experiments", len(models["cue"].Stages), len(models["cue"].Experiments))
	}
	for _, form := range []string{"hcl", "yaml"} {
		if diff := cmp.Diff(models["cue"], models[form], ignore); diff != "" {
			t.Errorf("%s model differs from the CUE one (-cue +%s):\n%s", form, form, diff)
		}
	}
}
