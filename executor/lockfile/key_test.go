package lockfile

import (
	"testing"

	"lattice.dev/lattice/compiler/plan"
)

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
