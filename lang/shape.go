package lang

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"cuelang.org/go/cue"
)

// A shape is the part of the CUE schema that the walker needs at one path:
// which kinds are allowed, which fields (for structs), the element shape (for
// maps and lists), enum values, the default, and the full constraint for the
// few leaves that need CUE itself to check them (bounds, patterns).
//
// Shapes are compiled once from the embedded schema. Walking the user's
// value against shapes in Go, instead of unifying the whole value with the
// schema, is what lets the front end report every mistake (CUE stops at one
// error per struct) in plain words, and it halves validation time on large
// specs.
type shape struct {
	// what names the thing for messages, e.g. "stage" or "output".
	what string
	kind cue.Kind

	fields   []*fieldShape
	byName   map[string]*fieldShape
	elem     *shape
	isMap    bool
	isList   bool
	nonEmpty bool

	// mapValue is the schema value of a map, used to ask whether a key is
	// a valid name.
	mapValue cue.Value

	enum []enumValue

	def    cue.Value
	hasDef bool

	// constraint is checked by unification when check is set.
	constraint cue.Value
	check      bool
	// patterns replace unification for string fields constrained only by
	// regular expressions, which are common (paths, names) and 100× faster
	// to check in Go than by unifying with CUE.
	patterns []pattern
	// plain is the unchecked() form of s.
	plain *shape
	// format describes valid values in words, for pattern mismatches.
	format string
}

type fieldShape struct {
	name     string
	required bool
	// optional fields (name?:) get no default even when their type has
	// one, as an open list's [] does.
	optional bool
	shape    *shape
	doc      string
}

type enumValue struct {
	text string // as CUE would print it: "docker", 1, true
	val  cue.Value
}

// Field formats that a pattern constraint cannot explain by itself, keyed by
// the schema path of the field with [] for map values and list elements.
var fieldFormats = map[string]string{
	"path":                `a path inside the project, relative to it, such as "data/vitals.csv"; absolute paths and ".." are not allowed`,
	"code":                `a directory inside the project, relative to it, such as "src"; absolute paths and ".." are not allowed`,
	"timeout":             `a duration such as "90s", "10m" or "1h30m"`,
	"resources.memory":    `a size such as "512Mi", "2G" or "1Gi"`,
	"secrets[]":           `an environment variable name such as "API_TOKEN"`,
	"select.gates[]":      `a gate such as "auc >= 0.85" (operators: >=, >, <=, <, ==, !=)`,
	"resources.cpus":      `a positive number such as 0.5 or 2`,
	"retries":             `a whole number from 0 to 10`,
	"space.random.trials": `a whole number from 1 to 10000`,
}

// namePattern describes #Name for messages.
const nameFormat = "letters, digits, '_' and '-', starting with a letter"

func compileShape(v cue.Value, what string, schemaPath string) (*shape, error) {
	s := &shape{what: what, kind: v.IncompleteKind()}
	s.plain = &shape{what: what, kind: s.kind}
	if d, ok := v.Default(); ok && d.IsConcrete() {
		s.def, s.hasDef = d, true
	}
	s.format = formatFor(schemaPath)

	switch {
	case s.kind == cue.StructKind:
		if err := s.compileStruct(v, schemaPath); err != nil {
			return nil, err
		}
	case s.kind == cue.ListKind:
		s.isList = true
		el := v.LookupPath(cue.MakePath(cue.AnyIndex))
		if !el.Exists() {
			return nil, fmt.Errorf("schema %s: list has no element type", schemaPath)
		}
		e, err := compileShape(el, what, schemaPath+"[]")
		if err != nil {
			return nil, err
		}
		s.elem = e
		// A list that cannot be empty says so with a required first element.
		s.nonEmpty = v.Unify(v.Context().CompileString("[]")).Err() != nil
	default:
		s.compileLeaf(v)
	}
	return s, nil
}

func (s *shape) compileStruct(v cue.Value, schemaPath string) error {
	// A struct with a pattern constraint and no fields is a map from names
	// to values. Probe it with a name that every pattern accepts.
	if el := v.LookupPath(cue.MakePath(cue.AnyString)); el.Exists() || v.Allows(cue.Str("x")) {
		if !el.Exists() {
			el = v.Unify(v.Context().CompileString("{x: _}")).LookupPath(cue.MakePath(cue.Str("x")))
		}
		if el.Exists() {
			s.isMap = true
			s.mapValue = v
			e, err := compileShape(el, singular(lastLabel(schemaPath)), schemaPath+"[]")
			if err != nil {
				return err
			}
			s.elem = e
			return nil
		}
	}
	s.byName = map[string]*fieldShape{}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return fmt.Errorf("schema %s: %w", schemaPath, err)
	}
	for it.Next() {
		name := it.Selector().Unquoted()
		fv := it.Value()
		sub := schemaPath + "." + name
		if schemaPath == "" {
			sub = name
		}
		fs, err := compileShape(fv, singular(name), sub)
		if err != nil {
			return err
		}
		f := &fieldShape{
			name:     name,
			required: it.FieldType()&cue.RequiredConstraint != 0,
			optional: it.FieldType()&cue.OptionalConstraint != 0,
			shape:    fs,
			doc:      docOf(fv),
		}
		s.fields = append(s.fields, f)
		s.byName[name] = f
	}
	return nil
}

func (s *shape) compileLeaf(v cue.Value) {
	// Expr shows a reference (#Path) as a selector, not what it refers
	// to; recompiling the value's printed form gives the expression itself.
	if norm := v.Context().CompileString(fmt.Sprint(v)); norm.Err() == nil {
		v = norm
	}
	op, args := v.Expr()
	if op == cue.NoOp && v.IsConcrete() {
		s.enum = []enumValue{{text: fmt.Sprint(v), val: v}}
		return
	}
	if op == cue.OrOp {
		all := true
		for _, a := range args {
			if !a.IsConcrete() {
				all = false
				break
			}
		}
		if all {
			for _, a := range args {
				s.enum = append(s.enum, enumValue{text: fmt.Sprint(a), val: a})
			}
			return
		}
		// *true | bool, *"x" | string: a default and the bare kind; the
		// kind check is all there is to do.
		bare := false
		for _, a := range args {
			if !a.IsConcrete() && isBareKind(fmt.Sprint(a)) {
				bare = true
			} else if !a.IsConcrete() {
				bare = false
				break
			}
		}
		if bare {
			return
		}
	}
	if ps, ok := regexpsOf(v); ok {
		s.patterns = ps
		return
	}
	// A bare kind such as string or number needs no further check; anything
	// else (bounds, disjunctions with non-concrete arms) does.
	if isBareKind(fmt.Sprint(v)) || isDefaultedKind(fmt.Sprint(v)) {
		return
	}
	s.constraint = v
	s.check = true
}

// isBareKind reports whether a printed CUE value is a kind (or a
// disjunction of kinds) and nothing more.
func isBareKind(text string) bool {
	for _, part := range strings.Split(text, " | ") {
		switch part {
		case "string", "number", "int", "float", "bool", "_", "uint":
		default:
			return false
		}
	}
	return true
}

// isDefaultedKind reports whether a printed value is a default of some
// kind and that bare kind, such as "*true | bool": any value of the kind is
// valid.
func isDefaultedKind(text string) bool {
	parts := strings.Split(text, " | ")
	kinds := 0
	for _, part := range parts {
		switch {
		case isBareKind(part):
			kinds++
		case strings.HasPrefix(part, "*"):
		default:
			return false
		}
	}
	return kinds > 0 && kinds < len(parts)
}

type pattern struct {
	re     *regexp.Regexp
	negate bool
}

// match reports whether s satisfies every pattern.
func (s *shape) match(str string) bool {
	for _, p := range s.patterns {
		if p.re.MatchString(str) == p.negate {
			return false
		}
	}
	return true
}

// regexpsOf decomposes a constraint of the form string & =~"a" & !~"b"
// into Go regular expressions (CUE's regexps are RE2, as Go's are). It
// returns false for anything else.
func regexpsOf(v cue.Value) ([]pattern, bool) {
	var out []pattern
	var visit func(v cue.Value) bool
	visit = func(v cue.Value) bool {
		op, args := v.Expr()
		switch op {
		case cue.AndOp:
			for _, a := range args {
				if !visit(a) {
					return false
				}
			}
			return true
		case cue.RegexMatchOp, cue.NotRegexMatchOp:
			if len(args) != 1 {
				return false
			}
			src, err := args[0].String()
			if err != nil {
				return false
			}
			re, err := regexp.Compile(src)
			if err != nil {
				return false
			}
			out = append(out, pattern{re: re, negate: op == cue.NotRegexMatchOp})
			return true
		case cue.NoOp:
			return fmt.Sprint(v) == "string"
		}
		return false
	}
	if v.IncompleteKind() != cue.StringKind || !visit(v) || len(out) == 0 {
		return nil, false
	}
	return out, true
}

// unchecked returns a copy of s that accepts any value of its kinds, for
// walking the schema's own defaults.
func (s *shape) unchecked() *shape { return s.plain }

// field returns the field shape for name in a struct shape, or nil.
func (s *shape) field(name string) *fieldShape {
	if s.byName == nil {
		return nil
	}
	return s.byName[name]
}

func (s *shape) fieldNames() []string {
	names := make([]string, 0, len(s.fields))
	for _, f := range s.fields {
		names = append(names, f.name)
	}
	return names
}

// lookup returns the shape at a dotted path below s, treating any label as
// a key of a map; nil when the path leaves the schema.
func (s *shape) lookup(path []string) *shape {
	cur := s
	for _, p := range path {
		switch {
		case cur == nil:
			return nil
		case cur.isMap || cur.isList:
			cur = cur.elem
		default:
			f := cur.field(p)
			if f == nil {
				return nil
			}
			cur = f.shape
		}
	}
	return cur
}

// kindWords describes the allowed kinds in words: "a number, string or bool".
func kindWords(k cue.Kind) string {
	var parts []string
	if k&cue.NumberKind == cue.NumberKind {
		parts = append(parts, "number")
	} else if k&cue.IntKind != 0 {
		parts = append(parts, "whole number")
	} else if k&cue.FloatKind != 0 {
		parts = append(parts, "number")
	}
	if k&cue.StringKind != 0 {
		parts = append(parts, "string")
	}
	if k&cue.BoolKind != 0 {
		parts = append(parts, "bool")
	}
	if k&cue.ListKind != 0 {
		parts = append(parts, "list")
	}
	if k&cue.StructKind != 0 {
		parts = append(parts, "struct")
	}
	if k&cue.NullKind != 0 {
		parts = append(parts, "null")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	s := parts[0]
	if len(parts) > 1 {
		s = strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
	}
	return article(s) + " " + s
}

func article(s string) string {
	if s == "" {
		return ""
	}
	switch s[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an"
	}
	return "a"
}

// kindOf names the kind of a concrete user value.
func kindOf(k cue.Kind) string {
	switch k {
	case cue.IntKind, cue.FloatKind, cue.NumberKind:
		return "a number"
	case cue.StringKind:
		return "a string"
	case cue.BoolKind:
		return "a bool"
	case cue.ListKind:
		return "a list"
	case cue.StructKind:
		return "a struct"
	case cue.NullKind:
		return "null"
	case cue.BottomKind:
		return "an error"
	}
	return kindWords(k)
}

func docOf(v cue.Value) string {
	var b strings.Builder
	for _, cg := range v.Doc() {
		b.WriteString(cg.Text())
	}
	return firstSentence(strings.TrimSpace(b.String()))
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func lastLabel(p string) string {
	p = strings.TrimSuffix(p, "[]")
	if i := strings.LastIndexAny(p, ".#"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// singular turns a map field's name into the name of one of its values.
func singular(name string) string {
	switch name {
	case "datasets":
		return "dataset"
	case "stages", "stage":
		return "stage"
	case "experiments":
		return "experiment"
	case "inputs":
		return "input"
	case "outputs":
		return "output"
	case "metrics":
		return "metric"
	case "params":
		return "param"
	case "gates":
		return "gate"
	case "secrets":
		return "secret"
	case "keys":
		return "key"
	}
	return name
}

// formatFor finds the description of a field's valid values by the
// longest key of fieldFormats that ends schemaPath, so that one entry
// serves a field wherever it appears (a stage's timeout and an experiment
// template's timeout).
func formatFor(schemaPath string) string {
	best, desc := "", ""
	for k, d := range fieldFormats {
		if (schemaPath == k || strings.HasSuffix(schemaPath, "."+k)) && len(k) > len(best) {
			best, desc = k, d
		}
	}
	return desc
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
