package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"lattice.dev/lattice/lang/diag"
)

// FormatVersion is the only spec format version this build understands.
const FormatVersion = 1

// Project is a whole pipeline: everything declared in one project directory.
// Slices are sorted by name so that two front ends that describe the same
// pipeline produce equal values.
type Project struct {
	Version     int
	Name        string
	Datasets    []*Dataset
	Stages      []*Stage
	Experiments []*Experiment

	// Files lists the source files the project was read from, relative to
	// the directory given to the loader, sorted.
	Files []string
	// Pos holds the range of each field, keyed by its dotted path
	// ("version", "name"); "" is the whole project.
	Pos Positions
}

// Positions maps dotted field paths, relative to the object that holds them,
// to the source range where each was written. The empty path is the object
// itself.
type Positions map[string]diag.Range

// At returns the range of path, falling back to the nearest enclosing path
// that has one, and finally to the object itself.
func (p Positions) At(path string) diag.Range {
	for {
		if r, ok := p[path]; ok {
			return r
		}
		if path == "" {
			return diag.Range{}
		}
		if i := strings.LastIndexAny(path, ".["); i >= 0 {
			path = path[:i]
		} else {
			path = ""
		}
	}
}

// Dataset is external input data: a file or a directory.
type Dataset struct {
	Name string
	// Path is relative to the project directory, slash-separated and clean.
	Path      string
	Format    string
	Schema    []Column
	Keys      []string
	Timestamp string
	Pos       Positions
}

// Column is one column of a dataset's declared schema.
type Column struct {
	Name string
	Type string
}

// Backend names where a stage runs.
const (
	BackendDocker = "docker"
	BackendLocal  = "local"
)

// Stage is one step of the pipeline.
type Stage struct {
	Name    string
	Backend string
	// Image is the image reference as written (a tag or a digest); empty for
	// the local backend.
	Image string
	// Code is a directory of source code layered into the stage, relative
	// to the project directory; empty when the stage has none.
	Code string
	// Cmd is the argv. It may contain ${params.NAME}, ${inputs.NAME} and
	// ${outputs.NAME} placeholders, which the compiler substitutes.
	Cmd []string
	// Env holds plain environment variables, sorted by name.
	Env []EnvVar
	// Secrets names host environment variables whose values are passed to
	// the stage at run time and never recorded anywhere.
	Secrets   []string
	Params    []Param
	Inputs    []*Input
	Outputs   []*Output
	Resources Resources
	Retries   int
	// Timeout is zero when the stage has no time limit.
	Timeout time.Duration
	Cache   bool
	Network bool
	Pos     Positions
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string
	Value string
}

// Param is one named parameter. Params keep their declaration order, which
// names experiment trials readably.
type Param struct {
	Name  string
	Value Value
}

// Input is one named input of a stage. Exactly one of Dataset, Stage or
// Path is set.
type Input struct {
	Name    string
	Dataset string
	// Stage and Output name another stage's output. Output may be empty in
	// the spec when that stage has a single output; the loader leaves it
	// empty and the compiler resolves it.
	Stage  string
	Output string
	// Path is a file or directory relative to the project directory.
	Path string
}

// Output kinds.
const (
	KindData    = "data"
	KindModel   = "model"
	KindMetrics = "metrics"
	KindPlots   = "plots"
)

// Output is one named output of a stage.
type Output struct {
	Name string
	// Path is relative to the project directory, slash-separated and clean.
	Path string
	Kind string
}

// Resources are limits for a stage's container. Zero means "no limit".
type Resources struct {
	CPUs        float64
	MemoryBytes int64
}

// Experiment is a stage template run once per point of a parameter space.
type Experiment struct {
	Name    string
	Stage   *Stage
	Space   Space
	Metrics []Metric
	Select  Select
	Pos     Positions
}

// Space kinds.
const (
	SpaceGrid   = "grid"
	SpaceList   = "list"
	SpaceRandom = "random"
)

// Space is an experiment's parameter space.
type Space struct {
	Kind string
	// Grid holds each parameter's values, in declaration order; every
	// combination is a trial.
	Grid []GridAxis
	// List holds explicit trials.
	List [][]Param
	// Random draws Trials points from the distributions with Seed.
	Random Random
}

// GridAxis is one parameter of a grid and the values it takes.
type GridAxis struct {
	Name   string
	Values []Value
}

// Random is a seeded random search.
type Random struct {
	Seed   int64
	Trials int
	Params []Distribution
}

// Distribution describes how a random search draws one parameter: uniformly
// from [Min, Max] (on a log scale when Log is set, rounded when Int is set),
// or uniformly among Values.
type Distribution struct {
	Name     string
	Min, Max float64
	Log      bool
	Int      bool
	Values   []Value
}

// Metric is one metric an experiment's trials report.
type Metric struct {
	Name string
	// Goal is "max" or "min".
	Goal string
	// Output names the trial stage's metrics output that holds the metric;
	// empty when the stage has a single metrics output.
	Output string
}

// Select picks the winning trial.
type Select struct {
	// By names the metric to optimise, per its goal.
	By    string
	Gates []Gate
}

// Gate is a threshold the winner must pass, such as auc >= 0.85.
type Gate struct {
	Metric string
	Op     string
	Value  float64
	// Text is the gate as written.
	Text string
}

// ValueKind is the type of a parameter value.
type ValueKind int

// Parameter value kinds.
const (
	String ValueKind = iota
	Number
	Bool
)

// Value is a parameter value: a number, a string or a bool.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
}

// StringValue, NumberValue and BoolValue build Values.
func StringValue(s string) Value  { return Value{Kind: String, Str: s} }
func NumberValue(f float64) Value { return Value{Kind: Number, Num: f} }
func BoolValue(b bool) Value      { return Value{Kind: Bool, Bool: b} }

// String renders the value canonically: strings as they are, numbers in
// the shortest form that round-trips (0.1, 100, 1e-05), bools as true or
// false. Every front end yields the same text for the same value, so it is
// what action keys and trial names use.
func (v Value) String() string {
	switch v.Kind {
	case Number:
		return FormatNumber(v.Num)
	case Bool:
		return strconv.FormatBool(v.Bool)
	}
	return v.Str
}

// Literal renders the value as it would be written in a spec: strings
// quoted, numbers and bools bare.
func (v Value) Literal() string {
	if v.Kind == String {
		return strconv.Quote(v.Str)
	}
	return v.String()
}

// FormatNumber formats f in its shortest round-tripping form.
func FormatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// MarshalJSON renders the value as a JSON string, number or bool.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case Number:
		if math.IsInf(v.Num, 0) || math.IsNaN(v.Num) {
			return nil, fmt.Errorf("number %v cannot be written as JSON", v.Num)
		}
		return []byte(FormatNumber(v.Num)), nil
	case Bool:
		return json.Marshal(v.Bool)
	}
	return json.Marshal(v.Str)
}

// UnmarshalJSON reads a JSON string, number or bool.
func (v *Value) UnmarshalJSON(b []byte) error {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	switch x := x.(type) {
	case string:
		*v = StringValue(x)
	case float64:
		*v = NumberValue(x)
	case bool:
		*v = BoolValue(x)
	default:
		return fmt.Errorf("parameter value must be a string, number or bool, not %s", b)
	}
	return nil
}

// Lookup helpers used by the compiler and the views.

// Dataset returns the dataset with the given name, or nil.
func (p *Project) Dataset(name string) *Dataset {
	for _, d := range p.Datasets {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Stage returns the stage with the given name, or nil.
func (p *Project) Stage(name string) *Stage {
	for _, s := range p.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Experiment returns the experiment with the given name, or nil.
func (p *Project) Experiment(name string) *Experiment {
	for _, e := range p.Experiments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Output returns the stage's output with the given name, or nil.
func (s *Stage) Output(name string) *Output {
	for _, o := range s.Outputs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// Param returns the value of the named parameter and whether it is set.
func (s *Stage) Param(name string) (Value, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return Value{}, false
}
