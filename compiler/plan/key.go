package plan

import (
	"sort"
	"strconv"
	"strings"

	"lattice.dev/lattice/compiler/digest"
)

// KeyFormat is the version of the action key pre-image format. Changing
// what goes into a key, or how it is written, bumps it, so that no key
// computed one way can ever match a key computed another way.
const KeyFormat = 1

// Salt is mixed into every action key. Bumping it invalidates every cache
// entry, for the rare case where keys stayed the same but the meaning of a
// cached result changed (a fix to how outputs are captured, say).
const Salt = "lattice-2026-11"

// Preimage is the complete description of a stage's work: everything that
// can change its outputs, and nothing else. Host paths never appear: inputs
// and outputs are named by their project-relative paths, which are also
// where the stage sees them. Resources, retries and timeouts are left out
// because they do not change what a successful run produces.
type Preimage struct {
	Backend  string `json:"backend"`
	Platform string `json:"platform"`
	// Image is the pinned image digest; empty for the local backend.
	Image string `json:"image,omitempty"`
	// Code is the digest of the stage's code directory, if any.
	Code    string   `json:"code,omitempty"`
	Argv    []string `json:"argv"`
	Env     []EnvVar `json:"env"`
	Secrets []string `json:"secrets"`
	Params  []Param  `json:"params"`
	Inputs  []KeyIO  `json:"inputs"`
	Outputs []KeyIO  `json:"outputs"`
	Network bool     `json:"network"`
}

// EnvVar is a plain (non-secret) environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Param is a parameter with its canonical text and kind (number, string or
// bool).
type Param struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// KeyIO is an input or output as it enters a key. For inputs Digest is the
// content digest; for outputs it is empty and Kind says what the output
// holds.
type KeyIO struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"`
	Kind   string `json:"kind,omitempty"`
}

// Pending is the digest text of an input whose content is not known until
// the stage that produces it has run.
const Pending = "pending"

// Complete reports whether every input digest is known, so that the key can
// be computed.
func (p *Preimage) Complete() bool {
	for _, in := range p.Inputs {
		if in.Digest == "" || in.Digest == Pending {
			return false
		}
	}
	return true
}

// Normalize sorts every list, so that the text form is canonical whatever
// order a front end produced.
func (p *Preimage) Normalize() {
	sort.Slice(p.Env, func(i, j int) bool { return p.Env[i].Name < p.Env[j].Name })
	sort.Strings(p.Secrets)
	sort.Slice(p.Params, func(i, j int) bool { return p.Params[i].Name < p.Params[j].Name })
	sort.Slice(p.Inputs, func(i, j int) bool { return p.Inputs[i].Name < p.Inputs[j].Name })
	sort.Slice(p.Outputs, func(i, j int) bool { return p.Outputs[i].Name < p.Outputs[j].Name })
}

// Lines renders the pre-image as readable text, one field per line, each
// line "FIELD VALUE" with Go-quoted strings. This text, and only this text,
// is hashed into the action key, so `plan --explain` shows exactly what the
// key covers.
func (p *Preimage) Lines() []string {
	return strings.Split(strings.TrimSuffix(p.Text(), "\n"), "\n")
}

// Text is the pre-image text: Lines joined with newlines, ending in one.
func (p *Preimage) Text() string { return string(p.AppendText(nil)) }

// AppendText appends the pre-image text to b. It is the one definition of
// the text; reading a large lockfile checks every stage's key with it, so
// it builds into a caller's buffer rather than line by line.
func (p *Preimage) AppendText(b []byte) []byte {
	b = append(b, "lattice-action-key "...)
	b = strconv.AppendInt(b, KeyFormat, 10)
	b = append(b, "\nsalt "...)
	b = strconv.AppendQuote(b, Salt)
	b = append(b, "\nbackend "...)
	b = strconv.AppendQuote(b, p.Backend)
	b = append(b, "\nplatform "...)
	b = strconv.AppendQuote(b, p.Platform)
	b = append(b, "\nimage "...)
	b = strconv.AppendQuote(b, p.Image)
	b = append(b, "\ncode "...)
	b = strconv.AppendQuote(b, p.Code)
	b = append(b, "\nargv"...)
	for _, a := range p.Argv {
		b = append(b, ' ')
		b = strconv.AppendQuote(b, a)
	}
	b = append(b, '\n')
	for _, e := range p.Env {
		b = append(b, "env "...)
		b = strconv.AppendQuote(b, e.Name)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, e.Value)
		b = append(b, '\n')
	}
	for _, s := range p.Secrets {
		b = append(b, "secret "...)
		b = strconv.AppendQuote(b, s)
		b = append(b, '\n')
	}
	for _, pr := range p.Params {
		b = append(b, "param "...)
		b = strconv.AppendQuote(b, pr.Name)
		b = append(b, ' ')
		b = append(b, pr.Kind...)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, pr.Value)
		b = append(b, '\n')
	}
	for _, in := range p.Inputs {
		b = append(b, "input "...)
		b = strconv.AppendQuote(b, in.Name)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, in.Path)
		b = append(b, ' ')
		b = append(b, in.Digest...)
		b = append(b, '\n')
	}
	for _, o := range p.Outputs {
		b = append(b, "output "...)
		b = strconv.AppendQuote(b, o.Name)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, o.Path)
		b = append(b, ' ')
		b = append(b, o.Kind...)
		b = append(b, '\n')
	}
	b = append(b, "network "...)
	b = strconv.AppendBool(b, p.Network)
	return append(b, '\n')
}

// Key hashes the pre-image text. It returns the zero Digest when an input
// is still pending.
func (p *Preimage) Key() digest.Digest {
	if !p.Complete() {
		return digest.Digest{}
	}
	return digest.Bytes(p.AppendText(nil))
}

// Change is one field that differs between two pre-images, or between a
// planned stage and its locked state.
type Change struct {
	// Field is a dotted path: "params.lr", "inputs.vitals", "image", "argv".
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
	// Note explains the change where the values alone do not, such as
	// "data/vitals.csv changed".
	Note string `json:"note,omitempty"`
}

// String renders a change as "params.lr: 0.1 → 0.3 (note)".
func (c Change) String() string {
	old, new := c.Old, c.New
	if old == "" {
		old = "(none)"
	}
	if new == "" {
		new = "(none)"
	}
	s := c.Field + ": " + old + " → " + new
	if c.Note != "" {
		s += " (" + c.Note + ")"
	}
	return s
}

// Derived is the note on argv and env changes that follow from changed
// parameters or inputs, which reasons do not count as separate changes.
const Derived = "follows from the changes above"

// Diff lists the fields that differ from old to p, causes first: params and
// inputs, then the image and code, then the command and environment (which
// placeholders derive from params and inputs), outputs and the rest.
// Digests are shortened for reading.
func (p *Preimage) Diff(old *Preimage) []Change {
	var out []Change
	cmp := func(field, a, b string) {
		if a != b {
			out = append(out, Change{Field: field, Old: a, New: b})
		}
	}
	oldPar, newPar := map[string]string{}, map[string]string{}
	for _, x := range old.Params {
		oldPar[x.Name] = paramText(x)
	}
	for _, x := range p.Params {
		newPar[x.Name] = paramText(x)
	}
	for _, n := range unionKeys(oldPar, newPar) {
		cmp("params."+n, oldPar[n], newPar[n])
	}
	oldIn, newIn := map[string]string{}, map[string]string{}
	for _, x := range old.Inputs {
		oldIn[x.Name] = x.Path + " " + x.Digest
	}
	for _, x := range p.Inputs {
		newIn[x.Name] = x.Path + " " + x.Digest
	}
	for _, n := range unionKeys(oldIn, newIn) {
		a, b := oldIn[n], newIn[n]
		if a == b {
			continue
		}
		ap, ad, _ := strings.Cut(a, " ")
		bp, bd, _ := strings.Cut(b, " ")
		switch {
		case a == "" || b == "" || ap == bp:
			out = append(out, Change{Field: "inputs." + n, Old: shortDigest(ad), New: shortDigest(bd)})
		default:
			out = append(out, Change{Field: "inputs." + n, Old: ap + " " + shortDigest(ad), New: bp + " " + shortDigest(bd)})
		}
	}
	causes := len(out) > 0
	cmp("image", shortDigest(old.Image), shortDigest(p.Image))
	cmp("code", shortDigest(old.Code), shortDigest(p.Code))
	derivedFrom := len(out)
	cmp("argv", quoteArgv(old.Argv), quoteArgv(p.Argv))
	oldEnv, newEnv := map[string]string{}, map[string]string{}
	for _, e := range old.Env {
		oldEnv[e.Name] = e.Value
	}
	for _, e := range p.Env {
		newEnv[e.Name] = e.Value
	}
	for _, n := range unionKeys(oldEnv, newEnv) {
		_, wasSet := oldEnv[n]
		_, isSet := newEnv[n]
		cmp("env."+n, quoteIf(oldEnv, n), quoteIf(newEnv, n))
		if wasSet && isSet && causes && len(out) > derivedFrom {
			// A value that changed (rather than appeared) may be a
			// placeholder's expansion.
			out[len(out)-1].Note = Derived
		}
	}
	if causes {
		for i := derivedFrom; i < len(out); i++ {
			if out[i].Field == "argv" {
				out[i].Note = Derived
			}
		}
	}
	oldSec, newSec := map[string]string{}, map[string]string{}
	for _, s := range old.Secrets {
		oldSec[s] = "(secret)"
	}
	for _, s := range p.Secrets {
		newSec[s] = "(secret)"
	}
	for _, n := range unionKeys(oldSec, newSec) {
		cmp("secrets."+n, oldSec[n], newSec[n])
	}
	oldOut, newOut := map[string]string{}, map[string]string{}
	for _, x := range old.Outputs {
		oldOut[x.Name] = x.Path + " (" + x.Kind + ")"
	}
	for _, x := range p.Outputs {
		newOut[x.Name] = x.Path + " (" + x.Kind + ")"
	}
	for _, n := range unionKeys(oldOut, newOut) {
		cmp("outputs."+n, oldOut[n], newOut[n])
	}
	cmp("network", strconv.FormatBool(old.Network), strconv.FormatBool(p.Network))
	cmp("backend", old.Backend, p.Backend)
	cmp("platform", old.Platform, p.Platform)
	return out
}

func paramText(p Param) string {
	if p.Kind == "string" {
		return strconv.Quote(p.Value)
	}
	return p.Value
}

func quoteIf(m map[string]string, k string) string {
	v, ok := m[k]
	if !ok {
		return ""
	}
	return strconv.Quote(v)
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// shortDigest abbreviates "blake3:<64 hex>" to "blake3:<8 hex>…"; other
// text is returned as is.
func shortDigest(s string) string {
	if d, err := digest.Parse(s); err == nil {
		return d.Short()
	}
	return s
}

func unionKeys(a, b map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for k := range a {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for k := range b {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
