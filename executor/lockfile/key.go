package lockfile

import (
	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// keyMatches reports whether s.Key is the key of s.Preimage: the check
// that plan.Lock.Verify makes for each stage. buf is scratch space reused
// from call to call, because building each pre-image's text afresh is the
// largest cost of reading a lockfile of thousands of stages.
func keyMatches(s *plan.LockedStage, buf *[]byte) bool {
	p := &s.Preimage
	if !p.Complete() {
		return false
	}
	*buf = p.AppendText((*buf)[:0])
	k := digest.Bytes(*buf)
	return k.String() == s.Key
}
