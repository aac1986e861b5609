package lang

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
	"github.com/google/go-containerregistry/pkg/name"

	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

// crossCheck runs the checks that span objects: unique names, references,
// placeholders, overlapping paths and image references. It reports every
// problem it finds.
// Fields named in typos were probably meant by a misspelt field that the
// walker already reported, so they are not reported again as missing.
func crossCheck(p *spec.Project, typos map[string]bool) diag.Diagnostics {
	c := &checker{p: p, typos: typos, stages: make(map[string]*spec.Stage, len(p.Stages))}
	for _, s := range p.Stages {
		c.stages[s.Name] = s
	}
	c.names()
	for _, s := range p.Stages {
		c.stage(s, "stages."+s.Name, fmt.Sprintf("stage %q", s.Name), nil)
	}
	for _, e := range p.Experiments {
		c.experiment(e)
	}
	c.paths()
	return c.diags
}

type checker struct {
	p     *spec.Project
	typos map[string]bool
	diags diag.Diagnostics
	// stages indexes p.Stages: references are resolved once per input, and
	// a linear search would make large specs quadratic.
	stages map[string]*spec.Stage
}

func (c *checker) add(d *diag.Diagnostic) *diag.Diagnostic {
	c.diags = append(c.diags, d)
	return d
}

// names checks that stages and experiments, which share one namespace in
// plans, logs and the lockfile, do not reuse a name.
func (c *checker) names() {
	stages := map[string]*spec.Stage{}
	for _, s := range c.p.Stages {
		stages[s.Name] = s
	}
	for _, e := range c.p.Experiments {
		if s, ok := stages[e.Name]; ok {
			c.add(diag.Errorf(e.Pos.At(""), "experiments."+e.Name, "name %q is used by both a stage and an experiment", e.Name).
				WithNote(s.Pos.At(""), "the stage is declared here").
				WithHint("stages and experiments share one namespace; rename one of them"))
		}
	}
}

var placeholderRE = regexp.MustCompile(`\$\{(params|inputs|outputs)\.([^}]*)\}`)

func (c *checker) stage(s *spec.Stage, at, what string, extraParams []string) {
	if s.Backend == spec.BackendDocker || s.Backend == "" {
		if s.Image == "" && !c.typos[at+".image"] {
			c.add(diag.Errorf(s.Pos.At(""), at+".image", "%s has no image; the docker backend needs one", what).
				WithHint(`set image, e.g. image: "python:3.12-slim", or run it on the host with backend: "local"`))
		}
	}
	if s.Image != "" {
		if _, err := name.ParseReference(s.Image); err != nil {
			c.add(diag.Errorf(s.Pos.At("image"), at+".image", "%s: image %q is not a valid image reference", what, s.Image).
				WithDetail("%v", err).
				WithHint(`write NAME[:TAG][@DIGEST] in lowercase, e.g. "python:3.12-slim" or "ghcr.io/org/img@sha256:…"`))
		}
		if s.Backend == spec.BackendLocal {
			c.add(&diag.Diagnostic{Severity: diag.Warning, Subject: s.Pos.At("image"), Path: at + ".image",
				Summary: fmt.Sprintf("%s: image is ignored by the local backend", what)})
		}
	}

	params := map[string]bool{}
	var paramNames []string
	for _, p := range s.Params {
		params[p.Name] = true
		paramNames = append(paramNames, p.Name)
	}
	for _, n := range extraParams {
		if !params[n] {
			params[n] = true
			paramNames = append(paramNames, n)
		}
	}
	inputs := map[string]bool{}
	var inputNames []string
	for _, in := range s.Inputs {
		inputs[in.Name] = true
		inputNames = append(inputNames, in.Name)
		c.input(s, in, at, what)
	}
	outputs := map[string]bool{}
	var outputNames []string
	for _, o := range s.Outputs {
		outputs[o.Name] = true
		outputNames = append(outputNames, o.Name)
	}

	check := func(text, field string) {
		for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
			kind, ref := m[1], m[2]
			var ok bool
			var names []string
			switch kind {
			case "params":
				ok, names = params[ref], paramNames
			case "inputs":
				ok, names = inputs[ref], inputNames
			case "outputs":
				ok, names = outputs[ref], outputNames
			}
			if ok {
				continue
			}
			d := c.add(diag.Errorf(s.Pos.At(field), at+"."+field, "%s: %s refers to ${%s.%s}, but the stage declares no %s %q",
				what, field, kind, ref, strings.TrimSuffix(kind, "s"), ref))
			if sug := suggest(ref, names); sug != "" {
				d.WithHint("did you mean ${%s.%s}?", kind, sug)
			} else if len(names) > 0 {
				d.WithHint("declared %s: %s", kind, strings.Join(names, ", "))
			} else {
				d.WithHint("declare it under %s", kind)
			}
		}
	}
	for i, a := range s.Cmd {
		check(a, fmt.Sprintf("cmd[%d]", i))
	}
	for _, e := range s.Env {
		check(e.Value, "env."+e.Name)
	}

	env := map[string]bool{}
	for _, e := range s.Env {
		env[e.Name] = true
	}
	seen := map[string]bool{}
	for i, sec := range s.Secrets {
		field := fmt.Sprintf("secrets[%d]", i)
		if env[sec] {
			c.add(diag.Errorf(s.Pos.At(field), at+"."+field, "%s: %s is both a secret and a plain env variable", what, sec).
				WithHint("remove it from env; a secret's value comes from the host environment at run time"))
		}
		if seen[sec] {
			c.add(diag.Errorf(s.Pos.At(field), at+"."+field, "%s: secret %s is listed twice", what, sec))
		}
		seen[sec] = true
	}
}

func (c *checker) input(s *spec.Stage, in *spec.Input, at, what string) {
	field := "inputs." + in.Name
	set := 0
	for _, v := range []string{in.Dataset, in.Stage, in.Path} {
		if v != "" {
			set++
		}
	}
	switch {
	case set == 0 && (c.typos[at+"."+field+".dataset"] || c.typos[at+"."+field+".stage"] || c.typos[at+"."+field+".path"]):
		return
	case set == 0:
		c.add(diag.Errorf(s.Pos.At(field), at+"."+field, "%s: input %q names no source", what, in.Name).
			WithHint(`set one of dataset, stage or path, e.g. {dataset: "vitals"}`))
		return
	case set > 1:
		c.add(diag.Errorf(s.Pos.At(field), at+"."+field, "%s: input %q sets more than one of dataset, stage and path", what, in.Name).
			WithHint("an input reads exactly one source; split it into several inputs"))
		return
	}
	if in.Output != "" && in.Stage == "" {
		c.add(diag.Errorf(s.Pos.At(field+".output"), at+"."+field+".output", "%s: input %q sets output without stage", what, in.Name).
			WithHint("name the stage whose output this is: {stage: \"…\", output: %q}", in.Output))
	}
	switch {
	case in.Dataset != "":
		if c.p.Dataset(in.Dataset) == nil {
			d := c.add(diag.Errorf(s.Pos.At(field+".dataset"), at+"."+field+".dataset",
				"%s: input %q refers to dataset %q, which is not declared", what, in.Name, in.Dataset))
			c.hintName(d, in.Dataset, c.datasetNames(), "datasets")
		}
	case in.Stage != "":
		up := c.stages[in.Stage]
		if up == nil {
			d := c.add(diag.Errorf(s.Pos.At(field+".stage"), at+"."+field+".stage",
				"%s: input %q refers to stage %q, which is not declared", what, in.Name, in.Stage))
			if c.p.Experiment(in.Stage) != nil {
				d.WithHint("%q is an experiment; a stage cannot read an experiment's trials", in.Stage)
			} else {
				c.hintName(d, in.Stage, c.stageNames(), "stages")
			}
			return
		}
		var outs []string
		for _, o := range up.Outputs {
			outs = append(outs, o.Name)
		}
		switch {
		case in.Output == "" && len(up.Outputs) != 1:
			d := c.add(diag.Errorf(s.Pos.At(field), at+"."+field,
				"%s: input %q reads stage %q, which has %d outputs; say which", what, in.Name, in.Stage, len(up.Outputs)))
			if len(outs) > 0 {
				d.WithHint("add output: one of %s", strings.Join(quoteAll(outs), ", "))
			}
		case in.Output != "" && up.Output(in.Output) == nil:
			d := c.add(diag.Errorf(s.Pos.At(field+".output"), at+"."+field+".output",
				"%s: input %q refers to output %q of stage %q, which has no such output", what, in.Name, in.Output, in.Stage))
			c.hintName(d, in.Output, outs, fmt.Sprintf("outputs of %q", in.Stage))
		}
	}
}

func (c *checker) hintName(d *diag.Diagnostic, got string, names []string, what string) {
	if m := suggest(got, names); m != "" {
		d.WithHint("did you mean %q?", m)
	} else if len(names) > 0 {
		d.WithHint("declared %s: %s", what, strings.Join(quoteAll(names), ", "))
	} else {
		d.WithHint("no %s are declared", what)
	}
}

func (c *checker) experiment(e *spec.Experiment) {
	at := "experiments." + e.Name
	what := fmt.Sprintf("experiment %q", e.Name)
	if e.Stage == nil {
		return
	}
	var spaceNames []string
	switch e.Space.Kind {
	case spec.SpaceGrid:
		for _, ax := range e.Space.Grid {
			spaceNames = append(spaceNames, ax.Name)
		}
	case spec.SpaceList:
		seen := map[string]bool{}
		for _, t := range e.Space.List {
			for _, p := range t {
				if !seen[p.Name] {
					seen[p.Name] = true
					spaceNames = append(spaceNames, p.Name)
				}
			}
		}
	case spec.SpaceRandom:
		for _, d := range e.Space.Random.Params {
			spaceNames = append(spaceNames, d.Name)
		}
	}
	c.stage(e.Stage, at+".stage", what+" stage", spaceNames)

	var metricOuts []string
	for _, o := range e.Stage.Outputs {
		if o.Kind == spec.KindMetrics {
			metricOuts = append(metricOuts, o.Name)
		}
	}
	if len(metricOuts) == 0 {
		c.add(diag.Errorf(e.Pos.At("stage.outputs"), at+".stage.outputs", "%s: the trial stage has no output of kind \"metrics\"", what).
			WithHint(`declare one, e.g. outputs: metrics: {path: "out/metrics.json", kind: "metrics"}`))
	}
	var metricNames []string
	for _, m := range e.Metrics {
		metricNames = append(metricNames, m.Name)
		field := "metrics." + m.Name + ".output"
		switch {
		case m.Output == "" && len(metricOuts) > 1:
			c.add(diag.Errorf(e.Pos.At("metrics."+m.Name), at+".metrics."+m.Name,
				"%s: metric %q must say which metrics output holds it", what, m.Name).
				WithHint("add output: one of %s", strings.Join(quoteAll(metricOuts), ", ")))
		case m.Output != "":
			o := e.Stage.Output(m.Output)
			if o == nil || o.Kind != spec.KindMetrics {
				d := c.add(diag.Errorf(e.Pos.At(field), at+"."+field,
					"%s: metric %q reads output %q, which is not a metrics output of the trial stage", what, m.Name, m.Output))
				c.hintName(d, m.Output, metricOuts, "metrics outputs")
			}
		}
	}
	if e.Select.By != "" && !contains(metricNames, e.Select.By) {
		d := c.add(diag.Errorf(e.Pos.At("select.by"), at+".select.by", "%s: select.by names metric %q, which is not declared", what, e.Select.By))
		c.hintName(d, e.Select.By, metricNames, "metrics")
	}
	for i, g := range e.Select.Gates {
		if !contains(metricNames, g.Metric) {
			field := fmt.Sprintf("select.gates[%d]", i)
			d := c.add(diag.Errorf(e.Pos.At(field), at+"."+field, "%s: gate %q tests metric %q, which is not declared", what, g.Text, g.Metric))
			c.hintName(d, g.Metric, metricNames, "metrics")
		}
	}
	if e.Space.Kind == spec.SpaceList {
		for i, t := range e.Space.List {
			if len(t) == 0 {
				field := fmt.Sprintf("space.list[%d]", i)
				c.add(diag.Errorf(e.Pos.At(field), at+"."+field, "%s: trial %d of space.list sets no parameters", what, i))
			}
		}
	}
}

// pathOwner is a path a spec object claims: a stage output, a dataset or
// a stage's code directory.
type pathOwner struct {
	path  string
	what  string
	at    diag.Range
	field string
	write bool
}

// paths checks that no two outputs overlap, that no output lies inside a
// dataset or code directory, and that nothing claims Lattice's own state.
func (c *checker) paths() {
	var owners []pathOwner
	for _, s := range c.p.Stages {
		for _, o := range s.Outputs {
			owners = append(owners, pathOwner{path: o.Path, what: fmt.Sprintf("output %q of stage %q", o.Name, s.Name),
				at: s.Pos.At("outputs." + o.Name + ".path"), field: "stages." + s.Name + ".outputs." + o.Name + ".path", write: true})
		}
		if s.Code != "" {
			owners = append(owners, pathOwner{path: s.Code, what: fmt.Sprintf("code of stage %q", s.Name),
				at: s.Pos.At("code"), field: "stages." + s.Name + ".code"})
		}
	}
	for _, e := range c.p.Experiments {
		if e.Stage == nil {
			continue
		}
		for _, o := range e.Stage.Outputs {
			// Trials write below their output paths, one directory per
			// trial, so their outputs claim the declared path as a whole.
			owners = append(owners, pathOwner{path: o.Path, what: fmt.Sprintf("output %q of experiment %q", o.Name, e.Name),
				at: e.Pos.At("stage.outputs." + o.Name + ".path"), field: "experiments." + e.Name + ".stage.outputs." + o.Name + ".path", write: true})
		}
	}
	for _, d := range c.p.Datasets {
		owners = append(owners, pathOwner{path: d.Path, what: fmt.Sprintf("dataset %q", d.Name),
			at: d.Pos.At("path"), field: "datasets." + d.Name + ".path"})
	}
	for _, o := range owners {
		if o.path == "." || o.path == ".lattice" || strings.HasPrefix(o.path, ".lattice/") || o.path == "lattice.lock" {
			c.add(diag.Errorf(o.at, o.field, "%s uses path %q, which Lattice reserves", o.what, o.path).
				WithHint("choose a path in a directory of its own, such as \"out/…\""))
		}
	}
	// Sort so that every path comes right after the paths that contain it
	// ('/' sorts before every other byte), then sweep with a stack of the
	// enclosing paths: linear in the number of paths, not quadratic.
	key := func(p string) string { return strings.ReplaceAll(p, "/", "\x00") }
	sort.SliceStable(owners, func(i, j int) bool { return key(owners[i].path) < key(owners[j].path) })
	var stack []pathOwner
	for _, b := range owners {
		for len(stack) > 0 && !overlaps(stack[len(stack)-1].path, b.path) {
			stack = stack[:len(stack)-1]
		}
		for _, a := range stack {
			if !a.write && !b.write {
				continue
			}
			rel := "the same path as"
			if a.path != b.path {
				rel = "a path inside"
			}
			c.add(diag.Errorf(b.at, b.field, "%s (%q) is %s %s (%q)", b.what, b.path, rel, a.what, a.path).
				WithNote(a.at, "%s is declared here", a.what).
				WithHint("give every output a path of its own that does not overlap datasets, code or other outputs"))
		}
		stack = append(stack, b)
	}
}

func overlaps(a, b string) bool { return a == b || within(a, b) || within(b, a) }

// within reports whether p lies strictly inside dir.
func within(p, dir string) bool { return strings.HasPrefix(p, dir+"/") }

func (c *checker) datasetNames() []string {
	var out []string
	for _, d := range c.p.Datasets {
		out = append(out, d.Name)
	}
	return out
}

func (c *checker) stageNames() []string {
	var out []string
	for _, s := range c.p.Stages {
		out = append(out, s.Name)
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// duplicateKeys reports keys written twice in one object of a YAML or JSON
// file. CUE would unify them silently, but in a data file a repeated key is
// always a mistake.
func duplicateKeys(n ast.Node, rng func(token.Pos) diag.Range) diag.Diagnostics {
	var ds diag.Diagnostics
	ast.Walk(n, func(n ast.Node) bool {
		var elts []ast.Decl
		switch x := n.(type) {
		case *ast.StructLit:
			elts = x.Elts
		case *ast.File:
			elts = x.Decls
		default:
			return true
		}
		seen := map[string]*ast.Field{}
		for _, e := range elts {
			f, ok := e.(*ast.Field)
			if !ok {
				continue
			}
			name, _, err := ast.LabelName(f.Label)
			if err != nil {
				continue
			}
			if first, dup := seen[name]; dup {
				ds = append(ds, diag.Errorf(rng(f.Label.Pos()), "", "key %q is written twice in the same mapping", name).
					WithNote(rng(first.Label.Pos()), "first written here").
					WithHint("merge the two entries or rename one"))
				continue
			}
			seen[name] = f
		}
		return true
	}, nil)
	return ds
}
