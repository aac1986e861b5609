package lockfile

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/plan"
)

// TestKeyText holds appendKeyText to the bytes of plan.Preimage.Text, which
// defines the key, over pre-images with every field and every kind of
// string. If plan changes the text without bumping KeyFormat, this fails.
func TestKeyText(t *testing.T) {
	if plan.KeyFormat != keyTextFormat {
		t.Skipf("plan.KeyFormat is %d; appendKeyText renders format %d, so keys are checked with plan.Preimage.Key", plan.KeyFormat, keyTextFormat)
	}
	pres := map[string]plan.Preimage{"zero": {}}
	for name, s := range realisticLock().Stages {
		pres[name] = s.Preimage
	}
	for name, s := range benchLock(10).Stages {
		pres[name] = s.Preimage
	}
	odd := []string{"", " ", `"`, `\`, "\x00", "\x7f", "\xff", "é", "\u2028", "tab\there", "new\nline", "✓"}
	for i, s := range odd {
		pres["odd "+s] = plan.Preimage{
			Backend: s, Platform: s, Image: s, Code: s,
			Argv:    []string{s, s},
			Env:     []plan.EnvVar{{Name: s, Value: s}},
			Secrets: []string{s},
			Params:  []plan.Param{{Name: s, Kind: odd[(i+1)%len(odd)], Value: s}},
			Inputs:  []plan.KeyIO{{Name: s, Path: s, Digest: sum(s)}},
			Outputs: []plan.KeyIO{{Name: s, Path: s, Kind: s}},
			Network: i%2 == 0,
		}
	}
	for name, p := range pres {
		if diff := cmp.Diff(p.Text(), string(appendKeyText(nil, &p))); diff != "" {
			t.Errorf("%q: key text differs from plan's (-plan +lockfile):\n%s", name, diff)
		}
	}
}

func TestKeyMatches(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *plan.LockedStage)
		want bool
	}{
		{"as locked", func(*plan.LockedStage) {}, true},
		{"edited param", func(s *plan.LockedStage) { s.Preimage.Params[0].Value = "0.2" }, false},
		{"edited key", func(s *plan.LockedStage) { s.Key = sum("other") }, false},
		{"pending input", func(s *plan.LockedStage) {
			s.Preimage.Inputs[0].Digest = plan.Pending
			s.Key = ""
		}, false},
	}
	var buf []byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sampleLock().Stages["train"]
			tt.edit(s)
			if got := keyMatches(s, &buf); got != tt.want {
				t.Errorf("keyMatches = %v, want %v", got, tt.want)
			}
			if want := s.Preimage.Key().String() == s.Key && s.Key != ""; want != tt.want {
				t.Errorf("test is wrong: plan says %v", want)
			}
		})
	}
}
