package lockfile

import (
	"strconv"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// keyTextFormat is the plan.KeyFormat whose pre-image text appendKeyText
// renders.
const keyTextFormat = 1

// keyMatches reports whether s.Key is the key of s.Preimage: the check
// that plan.Lock.Verify makes for each stage. buf is scratch space that is
// reused from call to call.
//
// plan.Preimage.Key builds the pre-image text line by line from strings,
// which makes it the largest cost of reading a lockfile of thousands of
// stages (about 11µs a stage). appendKeyText renders the same bytes into
// one reused buffer in a fraction of that. It is used only while
// plan.KeyFormat is the format it was written for: any change to the
// pre-image text bumps KeyFormat, which sends every check back to
// plan.Preimage.Key until appendKeyText is brought up to date, so a stale
// copy can cost speed but never correctness. TestKeyText holds the two to
// the same bytes.
func keyMatches(s *plan.LockedStage, buf *[]byte) bool {
	p := &s.Preimage
	var k digest.Digest
	switch {
	case !p.Complete():
		return false
	case plan.KeyFormat == keyTextFormat:
		*buf = appendKeyText((*buf)[:0], p)
		k = digest.Bytes(*buf)
	default:
		k = p.Key()
	}
	return !k.IsZero() && k.String() == s.Key
}

// appendKeyText appends the text of plan.Preimage.Lines, for key format 1,
// joined by and ending in newlines.
func appendKeyText(b []byte, p *plan.Preimage) []byte {
	b = append(b, "lattice-action-key "...)
	b = strconv.AppendInt(b, keyTextFormat, 10)
	b = append(b, "\nsalt "...)
	b = appendQuoted(b, plan.Salt)
	b = append(b, "\nbackend "...)
	b = appendQuoted(b, p.Backend)
	b = append(b, "\nplatform "...)
	b = appendQuoted(b, p.Platform)
	b = append(b, "\nimage "...)
	b = appendQuoted(b, p.Image)
	b = append(b, "\ncode "...)
	b = appendQuoted(b, p.Code)
	b = append(b, "\nargv "...)
	for i, a := range p.Argv {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendQuoted(b, a)
	}
	b = append(b, '\n')
	for _, e := range p.Env {
		b = append(b, "env "...)
		b = appendQuoted(b, e.Name)
		b = append(b, ' ')
		b = appendQuoted(b, e.Value)
		b = append(b, '\n')
	}
	for _, s := range p.Secrets {
		b = append(b, "secret "...)
		b = appendQuoted(b, s)
		b = append(b, '\n')
	}
	for _, pr := range p.Params {
		b = append(b, "param "...)
		b = appendQuoted(b, pr.Name)
		b = append(b, ' ')
		b = append(b, pr.Kind...)
		b = append(b, ' ')
		b = appendQuoted(b, pr.Value)
		b = append(b, '\n')
	}
	for _, in := range p.Inputs {
		b = append(b, "input "...)
		b = appendQuoted(b, in.Name)
		b = append(b, ' ')
		b = appendQuoted(b, in.Path)
		b = append(b, ' ')
		b = append(b, in.Digest...)
		b = append(b, '\n')
	}
	for _, o := range p.Outputs {
		b = append(b, "output "...)
		b = appendQuoted(b, o.Name)
		b = append(b, ' ')
		b = appendQuoted(b, o.Path)
		b = append(b, ' ')
		b = append(b, o.Kind...)
		b = append(b, '\n')
	}
	b = append(b, "network "...)
	b = strconv.AppendBool(b, p.Network)
	return append(b, '\n')
}
