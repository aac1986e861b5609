package lang

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	cuejson "cuelang.org/go/encoding/json"
	cueyaml "cuelang.org/go/encoding/yaml"

	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
	"lattice.dev/lattice/schemas"
)

// Loader reads project directories into spec models. It holds the compiled
// schema, so one Loader serves any number of loads; it is not safe for
// concurrent use (the CUE context is not).
type Loader struct {
	ctx  *cue.Context
	root *shape
	cwd  string
}

// Option configures a Loader.
type Option func(*Loader)

// WorkDir sets the directory that file names in diagnostics are relative
// to; the default is the process's working directory.
func WorkDir(dir string) Option { return func(l *Loader) { l.cwd = dir } }

// NewLoader compiles the embedded schema.
func NewLoader(opts ...Option) (*Loader, error) {
	ctx := cuecontext.New()
	var sv cue.Value
	for name, src := range schemas.Files() {
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parsing embedded schema %s: %w", name, err)
		}
		v := ctx.BuildFile(f)
		if sv.Exists() {
			sv = sv.Unify(v)
		} else {
			sv = v
		}
	}
	if err := sv.Err(); err != nil {
		return nil, fmt.Errorf("building embedded schema: %w", err)
	}
	proj := sv.LookupPath(cue.MakePath(cue.Def("Project")))
	root, err := compileShape(proj, "project", "")
	if err != nil {
		return nil, fmt.Errorf("compiling embedded schema: %w", err)
	}
	cwd, _ := os.Getwd()
	l := &Loader{ctx: ctx, root: root, cwd: cwd}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

// Result is a loaded project with the sources it came from.
type Result struct {
	Project *spec.Project
	// Dir is the project directory, absolute.
	Dir string
	// sources maps display file names to their contents.
	sources map[string][]byte
	// lazyDir is set when the result came from the spec cache: sources are
	// then read from disk, relative to it, when an excerpt needs them.
	lazyDir string
}

// Source returns the text of a file named in a diagnostic, for rendering
// excerpts; it matches diag.Sources.
func (r *Result) Source(name string) []byte {
	if r == nil {
		return nil
	}
	if b, ok := r.sources[name]; ok || r.lazyDir == "" {
		return b
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.lazyDir, p)
	}
	b, _ := os.ReadFile(p)
	r.sources[name] = b
	return b
}

// Spec file kinds a project directory may hold.
const (
	kindCUE  = "cue"
	kindHCL  = "hcl"
	kindYAML = "yaml"
	kindJSON = "json"
)

// specFile is one file of a project.
type specFile struct {
	abs  string
	kind string
	src  []byte
}

// IsSpecFile reports whether a file name is read as part of a project:
// *.cue, *.hcl, lattice.yaml, lattice.yml or lattice.json.
func IsSpecFile(name string) bool {
	return specKind(name) != ""
}

func specKind(name string) string {
	switch {
	case strings.HasSuffix(name, ".cue"):
		return kindCUE
	case strings.HasSuffix(name, ".hcl"):
		return kindHCL
	case name == "lattice.yaml" || name == "lattice.yml":
		return kindYAML
	case name == "lattice.json":
		return kindJSON
	}
	return ""
}

// SpecFiles lists a project directory's spec files, sorted.
func SpecFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && IsSpecFile(e.Name()) && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Load reads every spec file in dir, checks it against the schema and
// the cross-object rules, and returns the spec model. Diagnostics list every
// problem found; the model is nil when any of them is an error.
func (l *Loader) Load(dir string) (*Result, diag.Diagnostics) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, diag.Diagnostics{diag.Errorf(diag.Range{}, "", "cannot resolve project directory %s: %v", dir, err)}
	}
	res := &Result{Dir: abs, sources: map[string][]byte{}}
	names, err := SpecFiles(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return res, diag.Diagnostics{diag.Errorf(diag.Range{}, "", "project directory %s does not exist", dir)}
		}
		return res, diag.Diagnostics{diag.Errorf(diag.Range{}, "", "cannot read project directory %s: %v", dir, err)}
	}
	if len(names) == 0 {
		return res, diag.Diagnostics{diag.Errorf(diag.Range{}, "", "no spec files in %s", l.display(abs)).
			WithHint("a project is a directory of *.cue or *.hcl files, or a lattice.yaml or lattice.json; run `lattice init` to start one")}
	}
	var files []specFile
	for _, n := range names {
		src, err := os.ReadFile(n)
		if err != nil {
			return res, diag.Diagnostics{diag.Errorf(diag.Range{}, "", "cannot read %s: %v", l.display(n), err)}
		}
		if specKind(filepath.Base(n)) == kindYAML {
			src = normalizeNewlines(src)
		}
		files = append(files, specFile{abs: n, kind: specKind(filepath.Base(n)), src: src})
		res.sources[l.display(n)] = src
	}
	p, ds := l.loadFiles(abs, files)
	res.Project = p
	return res, ds
}

// LoadFiles loads a project from in-memory files, keyed by name relative to
// dir; used by tests and fuzzing.
func (l *Loader) LoadFiles(dir string, files map[string][]byte) (*Result, diag.Diagnostics) {
	abs, _ := filepath.Abs(dir)
	res := &Result{Dir: abs, sources: map[string][]byte{}}
	var fs []specFile
	for _, name := range sortedKeys(files) {
		k := specKind(filepath.Base(name))
		if k == "" {
			continue
		}
		a := filepath.Join(abs, name)
		fs = append(fs, specFile{abs: a, kind: k, src: files[name]})
		res.sources[l.display(a)] = files[name]
	}
	p, ds := l.loadFiles(abs, fs)
	res.Project = p
	return res, ds
}

func (l *Loader) loadFiles(dir string, files []specFile) (p *spec.Project, ds diag.Diagnostics) {
	// A loader must never crash on bad input; a panic inside the CUE
	// evaluator is reported as an internal error against the project so the
	// user still gets the rest of the output and a bug report to file.
	defer func() {
		if r := recover(); r != nil {
			if os.Getenv("LATTICE_DEBUG_PANIC") != "" {
				panic(r)
			}
			p = nil
			ds = append(ds, diag.Errorf(diag.Range{}, "", "internal error while evaluating the spec: %v", r).
				WithHint("this is a bug in lattice; please report it with the spec that caused it"))
		}
	}()
	var values []cue.Value
	var cueFiles []specFile
	for _, f := range files {
		switch f.kind {
		case kindCUE:
			cueFiles = append(cueFiles, f)
		case kindHCL:
			af, d := hclToCUE(f.abs, f.src)
			ds = append(ds, l.relabel(d)...)
			if af != nil && !d.HasErrors() {
				values = append(values, l.ctx.BuildFile(af))
			}
		case kindYAML:
			af, err := cueyaml.Extract(f.abs, normalizeNewlines(f.src))
			if err != nil {
				ds = append(ds, l.yamlError(err, f))
				continue
			}
			if d := duplicateKeys(af, l.rng); len(d) > 0 {
				ds = append(ds, d...)
				continue
			}
			values = append(values, l.ctx.BuildFile(af))
		case kindJSON:
			expr, err := cuejson.Extract(f.abs, f.src)
			if err != nil {
				ds = append(ds, l.fromCUEError(err, "JSON")...)
				continue
			}
			if d := duplicateKeys(expr, l.rng); len(d) > 0 {
				ds = append(ds, d...)
				continue
			}
			values = append(values, l.ctx.BuildExpr(expr))
		}
	}
	if len(cueFiles) > 0 {
		v, d := l.loadCUE(dir, cueFiles)
		ds = append(ds, d...)
		if v.Exists() {
			values = append([]cue.Value{v}, values...)
		}
	}
	if ds.HasErrors() || len(values) == 0 {
		return nil, ds.Sort()
	}
	v := values[0]
	for _, o := range values[1:] {
		v = v.Unify(o)
	}
	return l.check(v, ds)
}

// check walks the evaluated value against the schema, decodes it and runs
// the cross-object checks.
func (l *Loader) check(v cue.Value, ds diag.Diagnostics) (*spec.Project, diag.Diagnostics) {
	w := &walker{rng: l.rng, root: l.root}
	root := w.walk(v, l.root, nil)
	ds = append(ds, w.diags...)
	dec := &decoder{}
	p := dec.project(root)
	ds = append(ds, dec.diags...)
	ds = append(ds, crossCheck(p, w.typos)...)
	ds = ds.Sort()
	if ds.HasErrors() {
		return nil, ds
	}
	return p, ds
}

// loadCUE loads the directory's CUE files as one stock CUE package. The
// schema package is overlaid at its import path so that templates can
// import it whether or not the project vendors a copy in cue.mod.
func (l *Loader) loadCUE(dir string, files []specFile) (cue.Value, diag.Diagnostics) {
	pkg, ds := l.packageName(files)
	if ds.HasErrors() {
		return cue.Value{}, ds
	}
	modRoot := findModuleRoot(dir)
	overlay := map[string]load.Source{}
	if modRoot == "" {
		modRoot = dir
		overlay[filepath.Join(dir, "cue.mod", "module.cue")] = load.FromString(
			"module: \"lattice.local/project\"\nlanguage: version: \"v0.9.0\"\n")
	}
	for name, src := range schemas.Files() {
		overlay[filepath.Join(modRoot, "cue.mod", "pkg", filepath.FromSlash(schemas.ImportPath), name)] = load.FromBytes(src)
	}
	var names []string
	for _, f := range files {
		overlay[f.abs] = load.FromBytes(f.src)
		names = append(names, f.abs)
	}
	cfg := &load.Config{
		Dir:        dir,
		ModuleRoot: modRoot,
		Overlay:    overlay,
		Package:    pkg,
		// Imports other than the schema come from the project's cue.mod;
		// the loader never reaches out to a module registry.
		Registry: nil,
		Env:      []string{"CUE_REGISTRY=none"},
	}
	insts := load.Instances([]string{"."}, cfg)
	if len(insts) == 0 {
		return cue.Value{}, diag.Diagnostics{diag.Errorf(diag.Range{}, "", "no CUE package found in %s", l.display(dir))}
	}
	inst := insts[0]
	if inst.Err != nil {
		return cue.Value{}, l.fromCUEError(inst.Err, "CUE")
	}
	if missing := l.unloaded(inst, names); len(missing) > 0 {
		return cue.Value{}, missing
	}
	v := l.ctx.BuildInstance(inst)
	if err := v.Err(); err != nil && !v.Exists() {
		return cue.Value{}, l.fromCUEError(err, "CUE")
	}
	return v, nil
}

// packageName picks the package the directory's CUE files belong to: the
// one they declare, or the anonymous package "_" when none declares one.
// Files of different packages cannot form one project.
func (l *Loader) packageName(files []specFile) (string, diag.Diagnostics) {
	var named, anon []specFile
	var pkg string
	var ds diag.Diagnostics
	for _, f := range files {
		af, err := parser.ParseFile(f.abs, f.src, parser.PackageClauseOnly)
		if err != nil {
			// cue/load reports syntax errors with better context.
			continue
		}
		name := af.PackageName()
		if name == "" {
			anon = append(anon, f)
			continue
		}
		if pkg != "" && name != pkg {
			ds = append(ds, diag.Errorf(l.packagePos(af), "", "%s declares package %s, but %s declares package %s",
				l.display(f.abs), name, l.display(named[0].abs), pkg).
				WithHint("all CUE files of a project belong to one package"))
			continue
		}
		pkg = name
		named = append(named, f)
	}
	if pkg == "" {
		return "_", ds
	}
	for _, f := range anon {
		ds = append(ds, diag.Errorf(diag.Range{Filename: l.display(f.abs), Start: diag.Pos{Line: 1, Column: 1}}, "",
			"%s has no package clause, but the project's other files are package %s", l.display(f.abs), pkg).
			WithHint("add `package %s` at the top of the file", pkg))
	}
	return pkg, ds
}

func (l *Loader) packagePos(f *ast.File) diag.Range {
	for _, d := range f.Decls {
		if p, ok := d.(*ast.Package); ok {
			return l.rng(p.Name.Pos())
		}
	}
	return l.rng(f.Pos())
}

// unloaded reports files that cue/load left out of the instance, such as
// files excluded by build attributes, so that nothing is dropped silently.
func (l *Loader) unloaded(inst *build.Instance, names []string) diag.Diagnostics {
	got := map[string]bool{}
	for _, f := range inst.BuildFiles {
		got[f.Filename] = true
	}
	var ds diag.Diagnostics
	for _, n := range names {
		if !got[n] {
			ds = append(ds, diag.Errorf(diag.Range{Filename: l.display(n)}, "", "%s was not loaded", l.display(n)).
				WithHint("check its package clause and any @if build attributes"))
		}
	}
	return ds
}

// findModuleRoot returns the nearest directory at or above dir that holds
// cue.mod/module.cue, or "".
func findModuleRoot(dir string) string {
	for d := dir; ; {
		if st, err := os.Stat(filepath.Join(d, "cue.mod", "module.cue")); err == nil && st.Mode().IsRegular() {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// fromCUEError converts errors from CUE's parsers and loader.
func (l *Loader) fromCUEError(err error, lang string) diag.Diagnostics {
	var ds diag.Diagnostics
	for _, e := range errors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		var at diag.Range
		if ps := errors.Positions(e); len(ps) > 0 {
			at = l.rng(ps[0])
		}
		ds = append(ds, diag.Errorf(at, "", "%s", plainSyntax(msg, lang)))
	}
	return ds
}

var yamlErrRE = regexp.MustCompile(`^(?:yaml: )?(?:.*?):(\d+): (.*)$|^yaml: line (\d+): (.*)$`)

// yamlError converts a YAML parse error, which carries only a line number,
// into a diagnostic pointing at the first non-blank character of that line,
// with a hint for the usual indentation mistakes.
func (l *Loader) yamlError(err error, f specFile) *diag.Diagnostic {
	msg := err.Error()
	line := 0
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		n, text := m[1], m[2]
		if n == "" {
			n, text = m[3], m[4]
		}
		line, _ = strconv.Atoi(n)
		msg = text
	}
	at := diag.Range{Filename: l.display(f.abs)}
	var text []byte
	if line > 0 {
		lines := bytes.Split(normalizeNewlines(f.src), []byte("\n"))
		if line <= len(lines) {
			// Line numbers count LF-normalized lines; see normalizeNewlines.
			text = lines[line-1]
		}
		col := len(text) - len(bytes.TrimLeft(text, " ")) + 1
		off := 0
		for i := 0; i < line-1 && i < len(lines); i++ {
			off += len(lines[i]) + 1
		}
		at.Start = diag.Pos{Line: line, Column: col, Byte: off + col - 1}
		at.End = at.Start
	}
	d := diag.Errorf(at, "", "YAML syntax error: %s", msg)
	switch {
	case bytes.ContainsRune(text, '\t'):
		d.WithHint("YAML does not allow tabs for indentation; indent with spaces")
	case strings.Contains(msg, "mapping values are not allowed"):
		d.WithHint("check the indentation of this line against the line above: keys of one mapping must line up, and a value must follow its key's colon")
	case strings.Contains(msg, "did not find expected key"):
		d.WithHint("check the indentation: keys of one mapping must line up")
	case strings.Contains(msg, "did not find expected"):
		d.WithHint("a bracket or quote may be unclosed on this line or the one above")
	}
	return d
}

// normalizeNewlines turns CRLF and lone CR line breaks into LF. YAML
// treats all three as line breaks, and CUE's YAML decoder miscounts
// positions (and can crash) on a lone CR, so the decoder only ever sees LF.
func normalizeNewlines(src []byte) []byte {
	if !bytes.ContainsRune(src, '\r') {
		return src
	}
	out := bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(out, []byte("\r"), []byte("\n"))
}

// plainSyntax tidies parser messages: drops the "yaml: line N:" prefix
// (the position says it) and names the language.
func plainSyntax(msg, lang string) string {
	if strings.HasPrefix(msg, "yaml: ") {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
			msg = msg[i+2:]
		}
		return "YAML syntax error: " + msg
	}
	if lang == "CUE" && (strings.Contains(msg, "expected") || strings.Contains(msg, "illegal") || strings.Contains(msg, "missing")) {
		return "CUE syntax error: " + msg
	}
	if lang == "JSON" {
		return "JSON syntax error: " + strings.TrimPrefix(msg, "json: ")
	}
	return msg
}

// rng converts a CUE position into a diagnostic range with the file name
// relative to the working directory.
func (l *Loader) rng(p token.Pos) diag.Range {
	if !p.IsValid() {
		return diag.Range{}
	}
	pos := diag.Pos{Line: p.Line(), Column: p.Column(), Byte: p.Offset()}
	return diag.Range{Filename: l.display(p.Filename()), Start: pos, End: pos}
}

// relabel rewrites file names in diagnostics from front ends that report
// absolute paths.
func (l *Loader) relabel(ds diag.Diagnostics) diag.Diagnostics {
	for _, d := range ds {
		if d.Subject.Filename != "" {
			d.Subject.Filename = l.display(d.Subject.Filename)
		}
		for i := range d.Notes {
			if d.Notes[i].Range.Filename != "" {
				d.Notes[i].Range.Filename = l.display(d.Notes[i].Range.Filename)
			}
		}
	}
	return ds
}

// display shows a path relative to the working directory when it is below
// it, else as it is.
func (l *Loader) display(p string) string {
	if !filepath.IsAbs(p) || l.cwd == "" {
		return p
	}
	rel, err := filepath.Rel(l.cwd, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return filepath.ToSlash(rel)
}
