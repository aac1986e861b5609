package lang

import (
	"fmt"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"lattice.dev/lattice/lang/diag"
)

// node is a checked, concrete piece of the user's spec with its position:
// the walker's output and the decoder's input. Defaults from the schema are
// filled in, marked by fromDefault.
type node struct {
	kind        cue.Kind
	str         string
	num         float64
	isInt       bool
	b           bool
	list        []*node
	fields      []*nodeField
	rng         diag.Range
	fromDefault bool
}

type nodeField struct {
	name string
	val  *node
}

func (n *node) get(name string) *node {
	if n == nil {
		return nil
	}
	for _, f := range n.fields {
		if f.name == name {
			return f.val
		}
	}
	return nil
}

// walker checks a CUE value against a shape and converts it to nodes,
// collecting a diagnostic for every mistake instead of stopping at the
// first.
type walker struct {
	diags diag.Diagnostics
	rng   func(token.Pos) diag.Range
	// root is the project's shape, for errors CUE reports deep inside.
	root *shape
	// typos holds the paths of fields whose mistake is already reported:
	// fields set to a wrong value, and fields an unknown field probably
	// meant to set ("stages.train.image" for "imgae"). Checks skip
	// reporting such a field as missing: one mistake, reported once.
	typos map[string]bool
}

func (w *walker) typo(path []string, field string) {
	if w.typos == nil {
		w.typos = map[string]bool{}
	}
	w.typos[joinPath(appendPath(path, field))] = true
}

func (w *walker) add(d *diag.Diagnostic) { w.diags = append(w.diags, d) }

// walk checks v against s. path is the spec path of v. It returns nil when v
// is unusable; the problem has then been reported.
func (w *walker) walk(v cue.Value, s *shape, path []string) *node {
	if err := v.Err(); err != nil {
		// A struct is "in error" when any field below it is; walk it so
		// that each field's error is reported where it is, and all of them,
		// not just the one CUE chose to surface at this level.
		if s.kind == cue.StructKind {
			before := len(w.diags)
			n := w.walkStruct(v, s, path, w.rng(v.Pos()))
			if len(w.diags) > before {
				return n
			}
			w.diags = w.diags[:before]
		}
		w.cueError(err, s, path)
		return nil
	}
	at := w.rng(v.Pos())
	vk := v.IncompleteKind()

	if s.kind == cue.StructKind && vk == cue.StructKind {
		return w.walkStruct(v, s, path, at)
	}
	if s.kind == cue.ListKind && vk == cue.ListKind {
		return w.walkList(v, s, path, at)
	}
	if !v.IsConcrete() {
		if d, ok := v.Default(); ok && d.IsConcrete() {
			v = d
		} else if vk&s.kind != 0 {
			w.add(diag.Errorf(at, joinPath(path), "%s must be set to a concrete value, not %v", subject(path), v).
				WithHint("give it %s", kindWords(s.kind)))
			return nil
		}
	}
	k := v.Kind()
	if k&s.kind == 0 {
		w.typeError(v, s, path, at)
		return nil
	}
	n := &node{kind: k, rng: at}
	switch k {
	case cue.StringKind:
		n.str, _ = v.String()
	case cue.BoolKind:
		n.b, _ = v.Bool()
	case cue.IntKind:
		n.isInt = true
		if i, err := v.Int64(); err == nil {
			n.num = float64(i)
		} else {
			n.num, _ = v.Float64()
		}
	case cue.FloatKind:
		f, err := v.Float64()
		if err != nil {
			w.add(diag.Errorf(at, joinPath(path), "%s is out of range: %v", subject(path), err))
			return nil
		}
		n.num = f
	case cue.NullKind:
	default:
		w.typeError(v, s, path, at)
		return nil
	}
	if len(s.enum) > 0 {
		text := fmt.Sprint(v)
		for _, e := range s.enum {
			if e.text == text {
				return n
			}
		}
		w.enumError(text, s, path, at)
		return nil
	}
	if len(s.patterns) > 0 && !s.match(n.str) {
		w.constraintError(v, s, path, at, nil)
		return nil
	}
	if s.check {
		if err := s.constraint.Unify(v).Validate(cue.Concrete(true)); err != nil {
			w.constraintError(v, s, path, at, err)
			return nil
		}
	}
	return n
}

func (w *walker) walkStruct(v cue.Value, s *shape, path []string, at diag.Range) *node {
	n := &node{kind: cue.StructKind, rng: at}
	it, err := v.Fields()
	if err != nil {
		w.cueError(err, s, path)
		return nil
	}
	var seen map[string]bool
	if !s.isMap {
		seen = make(map[string]bool, len(s.fields))
	}
	for it.Next() {
		sel := it.Selector()
		name := sel.Unquoted()
		fv := it.Value()
		sub := appendPath(path, name)
		if s.isMap {
			if !s.mapValue.Allows(cue.Str(name)) {
				w.add(diag.Errorf(w.rng(fv.Pos()), joinPath(sub), "invalid %s name %q", s.elem.what, name).
					WithHint("names use %s", nameFormat))
				continue
			}
			if c := w.walk(fv, s.elem, sub); c != nil {
				n.fields = append(n.fields, &nodeField{name: name, val: c})
			}
			continue
		}
		f := s.field(name)
		if f == nil {
			d := diag.Errorf(w.rng(fv.Pos()), joinPath(sub), "unknown field %q %s", name, where(path))
			if m := suggest(name, s.fieldNames()); m != "" {
				// HCL writes map entries as labelled blocks named in the
				// singular: "stage" blocks fill "stages".
				if hint := singular(m); strings.HasSuffix(d.Subject.Filename, ".hcl") && hint != m && s.field(m).shape.isMap {
					d.WithHint("did you mean a %q block?", hint)
				} else {
					d.WithHint("did you mean %q?", m)
				}
				w.typo(path, m)
			} else {
				d.WithHint("valid fields: %s", strings.Join(s.fieldNames(), ", "))
			}
			w.add(d)
			continue
		}
		seen[name] = true
		if c := w.walk(fv, f.shape, sub); c != nil {
			n.fields = append(n.fields, &nodeField{name: name, val: c})
		} else {
			// The field is set but wrong; that was reported, so checks
			// must not also call it missing.
			w.typo(path, name)
		}
	}
	for _, f := range s.fields {
		if seen == nil || seen[f.name] {
			continue
		}
		switch {
		case f.required && w.typos[joinPath(appendPath(path, f.name))]:
			// Reported as the unknown field that was meant to be this one.
		case f.required:
			d := diag.Errorf(at, joinPath(appendPath(path, f.name)), "%s is missing required field %q", describe(path), f.name)
			if f.doc != "" {
				d.WithHint("%s", f.doc)
			}
			w.add(d)
		case f.shape.hasDef && !f.optional:
			// Defaults come from the schema and need no checking.
			if c := w.walk(f.shape.def, f.shape.unchecked(), appendPath(path, f.name)); c != nil {
				c.rng = at
				c.fromDefault = true
				n.fields = append(n.fields, &nodeField{name: f.name, val: c})
			}
		}
	}
	return n
}

func (w *walker) walkList(v cue.Value, s *shape, path []string, at diag.Range) *node {
	n := &node{kind: cue.ListKind, rng: at}
	it, err := v.List()
	if err != nil {
		w.cueError(err, s, path)
		return nil
	}
	for i := 0; it.Next(); i++ {
		sub := appendPath(path, "["+strconv.Itoa(i)+"]")
		if c := w.walk(it.Value(), s.elem, sub); c != nil {
			n.list = append(n.list, c)
		}
	}
	if s.nonEmpty && len(n.list) == 0 {
		w.add(diag.Errorf(at, joinPath(path), "%s must not be empty", subject(path)).
			WithHint("give at least one %s", strings.TrimPrefix(strings.TrimPrefix(kindWords(s.elem.kind), "a "), "an ")))
	}
	return n
}

func (w *walker) typeError(v cue.Value, s *shape, path []string, at diag.Range) {
	got := kindOf(v.Kind())
	if v.IsConcrete() && v.Kind() != cue.StructKind && v.Kind() != cue.ListKind {
		got = fmt.Sprintf("%s (%v)", got, v)
	}
	d := diag.Errorf(at, joinPath(path), "%s must be %s, not %s", subject(path), kindWords(s.kind), got)
	if s.kind == cue.ListKind && v.Kind() == cue.StringKind {
		d.WithHint("write a list: [%v]", v)
	}
	w.add(d)
}

func (w *walker) enumError(text string, s *shape, path []string, at diag.Range) {
	var opts []string
	for _, e := range s.enum {
		opts = append(opts, e.text)
	}
	d := diag.Errorf(at, joinPath(path), "%s must be %s, not %s", subject(path), oneOf(opts), text)
	if m := suggest(strings.Trim(text, `"`), trimQuotes(opts)); m != "" {
		d.WithHint("did you mean %q?", m)
	} else {
		d.WithHint("valid values: %s", strings.Join(opts, ", "))
	}
	w.add(d)
}

func (w *walker) constraintError(v cue.Value, s *shape, path []string, at diag.Range, err error) {
	if p, ok := pathProblem(v, path); ok {
		w.add(diag.Errorf(at, joinPath(path), "%s", p).
			WithHint("paths are relative to the project directory and stay inside it"))
		return
	}
	if s.format != "" {
		w.add(diag.Errorf(at, joinPath(path), "%s must be %s, not %v", subject(path), s.format, v))
		return
	}
	msg := "(does not match the required pattern)"
	if err != nil {
		msg = plainCUEMessage(err)
	}
	w.add(diag.Errorf(at, joinPath(path), "%s is invalid: %v %s", subject(path), v, msg))
}

// cueError reports errors that CUE found while evaluating the user's files:
// conflicts, bad references, closed templates rejecting fields.
func (w *walker) cueError(err error, s *shape, path []string) {
	for _, e := range errors.Errors(err) {
		w.add(w.translate(e, s, path))
	}
}

// translate turns one CUE error into a diagnostic in plain words.
func (w *walker) translate(e errors.Error, s *shape, path []string) *diag.Diagnostic {
	var at diag.Range
	var notes []diag.Note
	for i, p := range errors.Positions(e) {
		r := w.rng(p)
		if i == 0 {
			at = r
		} else if r != at {
			notes = append(notes, diag.Note{Range: r, Message: "the other value is set here"})
		}
	}
	if p := e.Path(); len(p) > 0 {
		path = p
	}
	format, args := e.Msg()
	var d *diag.Diagnostic
	switch {
	case strings.Contains(format, "field not allowed"):
		name := path[len(path)-1]
		ps := w.schemaAt(path[:len(path)-1])
		if ps != nil && ps.field(name) != nil {
			// The schema allows the field: a closed definition of the
			// user's own, which this object is built from, does not.
			d = diag.Errorf(at, joinPath(path), "%s is not allowed by a closed definition that %s is built from", subject(path), describe(path[:len(path)-1])).
				WithHint("CUE definitions (#Name) are closed: build the definition on the schema (#T: lattice.#Stage & {...}), declare %s in it, or end it with \"...\" to leave it open", name)
			break
		}
		d = diag.Errorf(at, joinPath(path), "unknown field %q %s", name, where(path[:len(path)-1]))
		if ps != nil && !ps.isMap {
			if m := suggest(name, ps.fieldNames()); m != "" {
				d.WithHint("did you mean %q?", m)
			}
		}
	case strings.Contains(format, "empty disjunction"):
		if ps := w.schemaAt(path); ps != nil {
			d = diag.Errorf(at, joinPath(path), "%s must be %s", subject(path), kindWords(ps.kind))
		} else {
			d = diag.Errorf(at, joinPath(path), "%s matches none of the allowed forms", subject(path))
		}
	case strings.Contains(format, "incomplete value"):
		d = diag.Errorf(at, joinPath(path), "%s must be set to a concrete value", subject(path))
	case strings.Contains(format, "reference") && strings.Contains(format, "not found"):
		d = diag.Errorf(at, joinPath(path), "undefined reference %s", fmt.Sprint(args...))
	case strings.Contains(format, "required but not present"):
		d = diag.Errorf(at, joinPath(path), "%s is missing required field %q", describe(path[:len(path)-1]), path[len(path)-1])
	default:
		d = diag.Errorf(at, joinPath(path), "%s: %s", subject(path), fmt.Sprintf(format, args...))
	}
	d.Notes = append(d.Notes, notes...)
	return d
}

// schemaAt finds the shape for a spec path, for errors that CUE reports
// deep inside a value.
func (w *walker) schemaAt(path []string) *shape {
	if w.root == nil {
		return nil
	}
	return w.root.lookup(path)
}

// plainCUEMessage strips CUE's value dump from a constraint error so that
// only the reason remains, e.g. "(out of bound >=0)".
func plainCUEMessage(err error) string {
	errs := errors.Errors(err)
	if len(errs) == 0 {
		return err.Error()
	}
	format, args := errs[0].Msg()
	msg := fmt.Sprintf(format, args...)
	if i := strings.Index(msg, "("); i >= 0 {
		return msg[i:]
	}
	return "(" + msg + ")"
}

// pathProblem explains why a path field's value is rejected, when it is a
// path field and the reason is one of the common ones.
func pathProblem(v cue.Value, path []string) (string, bool) {
	last := path[len(path)-1]
	if last != "path" && last != "code" {
		return "", false
	}
	s, err := v.String()
	if err != nil {
		return "", false
	}
	switch {
	case s == "":
		return fmt.Sprintf("%s must not be empty", subject(path)), true
	case strings.HasPrefix(s, "/"):
		return fmt.Sprintf("%s is the absolute path %q; write it relative to the project directory", subject(path), s), true
	case s == ".." || strings.HasPrefix(s, "../") || strings.Contains(s, "/../") || strings.HasSuffix(s, "/.."):
		return fmt.Sprintf("%s %q climbs out of the project directory", subject(path), s), true
	}
	return "", false
}

func oneOf(opts []string) string {
	switch len(opts) {
	case 1:
		return opts[0]
	case 2:
		return "one of " + opts[0] + " or " + opts[1]
	}
	return "one of " + strings.Join(opts[:len(opts)-1], ", ") + " or " + opts[len(opts)-1]
}

func trimQuotes(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Trim(s, `"`)
	}
	return out
}

func appendPath(path []string, s string) []string {
	out := make([]string, len(path)+1)
	copy(out, path)
	out[len(path)] = s
	return out
}

// joinPath renders a spec path: stages.train.params.lr, cmd[0].
func joinPath(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// splitObject splits a spec path into the object it belongs to, described
// for humans (`stage "train"`), and the rest of the path within it.
func splitObject(path []string) (obj string, rest []string) {
	if len(path) >= 2 {
		switch path[0] {
		case "stages":
			return fmt.Sprintf("stage %q", path[1]), path[2:]
		case "datasets":
			return fmt.Sprintf("dataset %q", path[1]), path[2:]
		case "experiments":
			return fmt.Sprintf("experiment %q", path[1]), path[2:]
		}
	}
	return "", path
}

// subject names a value for "X must be …" messages:
// `stage "train": params.lr`.
func subject(path []string) string {
	obj, rest := splitObject(path)
	switch {
	case obj == "":
		return joinPath(rest)
	case len(rest) == 0:
		return obj
	}
	return obj + ": " + joinPath(rest)
}

// describe names a struct for "X is missing …" messages:
// `stage "train"` or `outputs.model of stage "train"`.
func describe(path []string) string {
	obj, rest := splitObject(path)
	switch {
	case obj == "" && len(rest) == 0:
		return "the project"
	case obj == "":
		return joinPath(rest)
	case len(rest) == 0:
		return obj
	}
	return joinPath(rest) + " of " + obj
}

// where places a field for "unknown field" messages.
func where(path []string) string {
	if len(path) == 0 {
		return "at the top level"
	}
	return "in " + describe(path)
}
