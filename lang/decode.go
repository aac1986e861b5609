package lang

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"

	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

// decoder turns checked nodes into the typed spec model. The walker has
// already checked kinds, enums and patterns, so the decoder only parses
// values whose meaning the schema cannot express (durations, sizes, gates)
// and reports problems with those.
type decoder struct {
	diags diag.Diagnostics
}

func (d *decoder) errorf(r diag.Range, p, format string, args ...any) *diag.Diagnostic {
	x := diag.Errorf(r, p, format, args...)
	d.diags = append(d.diags, x)
	return x
}

func (d *decoder) project(root *node) *spec.Project {
	p := &spec.Project{Version: spec.FormatVersion, Pos: spec.Positions{}}
	if root == nil {
		return p
	}
	collect(root, "", p.Pos, true)
	if v := root.get("version"); v != nil {
		p.Version = int(v.num)
	}
	if v := root.get("name"); v != nil {
		p.Name = v.str
	}
	for _, f := range fieldsOf(root.get("datasets")) {
		p.Datasets = append(p.Datasets, d.dataset(f.name, f.val))
	}
	for _, f := range fieldsOf(root.get("stages")) {
		p.Stages = append(p.Stages, d.stage(f.name, f.val, "stages."+f.name))
	}
	for _, f := range fieldsOf(root.get("experiments")) {
		p.Experiments = append(p.Experiments, d.experiment(f.name, f.val))
	}
	sort.Slice(p.Datasets, func(i, j int) bool { return p.Datasets[i].Name < p.Datasets[j].Name })
	sort.Slice(p.Stages, func(i, j int) bool { return p.Stages[i].Name < p.Stages[j].Name })
	sort.Slice(p.Experiments, func(i, j int) bool { return p.Experiments[i].Name < p.Experiments[j].Name })
	return p
}

func fieldsOf(n *node) []*nodeField {
	if n == nil {
		return nil
	}
	return n.fields
}

// collect records the range of n and of everything below it, keyed by the
// path relative to the object being decoded. Top-level collection stops at
// object maps, whose members keep their own positions.
func collect(n *node, prefix string, pos spec.Positions, top bool) {
	pos[prefix] = n.rng
	for _, f := range n.fields {
		if top && (f.name == "datasets" || f.name == "stages" || f.name == "experiments") {
			pos[f.name] = f.val.rng
			continue
		}
		collect(f.val, joinDotted(prefix, f.name), pos, false)
	}
	for i, e := range n.list {
		collect(e, prefix+"["+strconv.Itoa(i)+"]", pos, false)
	}
}

func joinDotted(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func (d *decoder) dataset(name string, n *node) *spec.Dataset {
	ds := &spec.Dataset{Name: name, Pos: spec.Positions{}}
	collect(n, "", ds.Pos, false)
	ds.Path = cleanPath(n.get("path"))
	if v := n.get("format"); v != nil {
		ds.Format = v.str
	}
	for _, f := range fieldsOf(n.get("schema")) {
		ds.Schema = append(ds.Schema, spec.Column{Name: f.name, Type: f.val.str})
	}
	ds.Keys = stringList(n.get("keys"))
	if v := n.get("timestamp"); v != nil {
		ds.Timestamp = v.str
	}
	return ds
}

func (d *decoder) stage(name string, n *node, at string) *spec.Stage {
	s := &spec.Stage{Name: name, Pos: spec.Positions{}, Cache: true}
	collect(n, "", s.Pos, false)
	if v := n.get("backend"); v != nil {
		s.Backend = v.str
	}
	if v := n.get("image"); v != nil {
		s.Image = v.str
	}
	if v := n.get("code"); v != nil {
		s.Code = cleanPath(v)
	}
	s.Cmd = stringList(n.get("cmd"))
	for _, f := range fieldsOf(n.get("env")) {
		s.Env = append(s.Env, spec.EnvVar{Name: f.name, Value: f.val.str})
	}
	sort.Slice(s.Env, func(i, j int) bool { return s.Env[i].Name < s.Env[j].Name })
	s.Secrets = stringList(n.get("secrets"))
	sort.Strings(s.Secrets)
	s.Params = params(n.get("params"))
	for _, f := range fieldsOf(n.get("inputs")) {
		in := &spec.Input{Name: f.name}
		if v := f.val.get("dataset"); v != nil {
			in.Dataset = v.str
		}
		if v := f.val.get("stage"); v != nil {
			in.Stage = v.str
		}
		if v := f.val.get("output"); v != nil {
			in.Output = v.str
		}
		if v := f.val.get("path"); v != nil {
			in.Path = cleanPath(v)
		}
		s.Inputs = append(s.Inputs, in)
	}
	sort.Slice(s.Inputs, func(i, j int) bool { return s.Inputs[i].Name < s.Inputs[j].Name })
	for _, f := range fieldsOf(n.get("outputs")) {
		o := &spec.Output{Name: f.name, Path: cleanPath(f.val.get("path")), Kind: spec.KindData}
		if v := f.val.get("kind"); v != nil {
			o.Kind = v.str
		}
		s.Outputs = append(s.Outputs, o)
	}
	sort.Slice(s.Outputs, func(i, j int) bool { return s.Outputs[i].Name < s.Outputs[j].Name })
	if r := n.get("resources"); r != nil {
		if v := r.get("cpus"); v != nil {
			s.Resources.CPUs = v.num
		}
		if v := r.get("memory"); v != nil {
			b, err := ParseSize(v.str)
			if err != nil {
				d.errorf(v.rng, at+".resources.memory", "%s: resources.memory %v", objectOf(at), err).
					WithHint(`write a size such as "512Mi" or "2G"`)
			}
			s.Resources.MemoryBytes = b
		}
	}
	if v := n.get("retries"); v != nil {
		s.Retries = int(v.num)
	}
	if v := n.get("timeout"); v != nil {
		t, err := time.ParseDuration(v.str)
		if err != nil || t <= 0 {
			d.errorf(v.rng, at+".timeout", "%s: timeout %q is not a positive duration", objectOf(at), v.str).
				WithHint(`write a duration such as "90s", "10m" or "1h30m"`)
		}
		s.Timeout = t
	}
	if v := n.get("cache"); v != nil {
		s.Cache = v.b
	}
	if v := n.get("network"); v != nil {
		s.Network = v.b
	}
	return s
}

func (d *decoder) experiment(name string, n *node) *spec.Experiment {
	e := &spec.Experiment{Name: name, Pos: spec.Positions{}}
	collect(n, "", e.Pos, false)
	at := "experiments." + name
	if st := n.get("stage"); st != nil {
		e.Stage = d.stage(name, st, at+".stage")
	}
	if sp := n.get("space"); sp != nil {
		var kinds []string
		if g := sp.get("grid"); g != nil {
			kinds = append(kinds, spec.SpaceGrid)
			for _, f := range g.fields {
				ax := spec.GridAxis{Name: f.name}
				for _, v := range f.val.list {
					ax.Values = append(ax.Values, value(v))
				}
				e.Space.Grid = append(e.Space.Grid, ax)
			}
		}
		if l := sp.get("list"); l != nil {
			kinds = append(kinds, spec.SpaceList)
			for _, item := range l.list {
				e.Space.List = append(e.Space.List, params(item))
			}
		}
		if r := sp.get("random"); r != nil {
			kinds = append(kinds, spec.SpaceRandom)
			e.Space.Random = d.random(r, at+".space.random")
		}
		switch len(kinds) {
		case 0:
			d.errorf(sp.rng, at+".space", "experiment %q: space must set one of grid, list or random", name).
				WithHint(`for example: space: grid: {lr: [0.01, 0.1]}`)
		case 1:
			e.Space.Kind = kinds[0]
		default:
			d.errorf(sp.rng, at+".space", "experiment %q: space sets %s; set exactly one", name, strings.Join(kinds, " and "))
		}
	}
	for _, f := range fieldsOf(n.get("metrics")) {
		m := spec.Metric{Name: f.name}
		if v := f.val.get("goal"); v != nil {
			m.Goal = v.str
		}
		if v := f.val.get("output"); v != nil {
			m.Output = v.str
		}
		e.Metrics = append(e.Metrics, m)
	}
	sort.Slice(e.Metrics, func(i, j int) bool { return e.Metrics[i].Name < e.Metrics[j].Name })
	if sel := n.get("select"); sel != nil {
		if v := sel.get("by"); v != nil {
			e.Select.By = v.str
		}
		if gs := sel.get("gates"); gs != nil {
			for i, g := range gs.list {
				gate, err := ParseGate(g.str)
				if err != nil {
					d.errorf(g.rng, fmt.Sprintf("%s.select.gates[%d]", at, i), "experiment %q: %v", name, err).
						WithHint(`write a gate such as "auc >= 0.85"`)
					continue
				}
				e.Select.Gates = append(e.Select.Gates, gate)
			}
		}
	}
	return e
}

func (d *decoder) random(n *node, at string) spec.Random {
	r := spec.Random{}
	if v := n.get("seed"); v != nil {
		r.Seed = int64(v.num)
	}
	if v := n.get("trials"); v != nil {
		r.Trials = int(v.num)
	}
	for _, f := range fieldsOf(n.get("params")) {
		dist := spec.Distribution{Name: f.name}
		min, max := f.val.get("min"), f.val.get("max")
		if min != nil {
			dist.Min = min.num
		}
		if max != nil {
			dist.Max = max.num
		}
		if v := f.val.get("log"); v != nil {
			dist.Log = v.b
		}
		if v := f.val.get("int"); v != nil {
			dist.Int = v.b
		}
		if vs := f.val.get("values"); vs != nil {
			for _, v := range vs.list {
				dist.Values = append(dist.Values, value(v))
			}
		}
		p := at + ".params." + f.name
		switch {
		case len(dist.Values) > 0 && (min != nil || max != nil):
			d.errorf(f.val.rng, p, "%s: random parameter %q sets both values and min/max; use one", objectOf(at), f.name)
		case len(dist.Values) == 0 && (min == nil || max == nil):
			d.errorf(f.val.rng, p, "%s: random parameter %q needs min and max, or values", objectOf(at), f.name).
				WithHint("for example: %s: {min: 0.001, max: 1, log: true}", f.name)
		case len(dist.Values) == 0 && dist.Min >= dist.Max:
			d.errorf(f.val.rng, p, "%s: random parameter %q has min %v not below max %v", objectOf(at), f.name,
				spec.FormatNumber(dist.Min), spec.FormatNumber(dist.Max))
		case dist.Log && dist.Min <= 0:
			d.errorf(f.val.rng, p, "%s: random parameter %q is drawn on a log scale, so min must be above 0", objectOf(at), f.name)
		}
		r.Params = append(r.Params, dist)
	}
	return r
}

// objectOf describes the object a dotted spec path belongs to.
func objectOf(at string) string {
	parts := strings.SplitN(at, ".", 3)
	obj, _ := splitObject(parts)
	if obj == "" {
		return at
	}
	return obj
}

func params(n *node) []spec.Param {
	var out []spec.Param
	for _, f := range fieldsOf(n) {
		out = append(out, spec.Param{Name: f.name, Value: value(f.val)})
	}
	return out
}

func value(n *node) spec.Value {
	switch n.kind {
	case cue.IntKind, cue.FloatKind, cue.NumberKind:
		return spec.NumberValue(n.num)
	case cue.BoolKind:
		return spec.BoolValue(n.b)
	}
	return spec.StringValue(n.str)
}

func stringList(n *node) []string {
	if n == nil {
		return nil
	}
	out := make([]string, 0, len(n.list))
	for _, e := range n.list {
		out = append(out, e.str)
	}
	return out
}

func cleanPath(n *node) string {
	if n == nil {
		return ""
	}
	return path.Clean(n.str)
}

var gateRE = regexp.MustCompile(`^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$`)

// ParseGate parses a gate such as "auc >= 0.85".
func ParseGate(s string) (spec.Gate, error) {
	m := gateRE.FindStringSubmatch(s)
	if m == nil {
		return spec.Gate{}, fmt.Errorf("gate %q is not of the form METRIC OP NUMBER", s)
	}
	f, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return spec.Gate{}, fmt.Errorf("gate %q compares with %q, which is not a number", s, m[3])
	}
	return spec.Gate{Metric: m[1], Op: m[2], Value: f, Text: strings.TrimSpace(s)}, nil
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([KMGT]i?)?B?$`)

// ParseSize parses a memory size: a number with an optional K, M, G or T
// suffix (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024), and an
// optional trailing B.
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	mult := map[string]float64{
		"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
		"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
	}[m[2]]
	b := f * mult
	if b < 1 || b > 1<<62 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return int64(b), nil
}
