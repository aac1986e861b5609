package lang

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/schemas"
)

// TestHCLToCUERoundTrip converts each testdata/hcl/NAME.hcl and checks that
// both the AST and its formatted text evaluate to the value of the
// hand-written NAME.cue.
func TestHCLToCUERoundTrip(t *testing.T) {
	tests := []struct {
		name string
		// valid says the spec should also pass the schema; values.hcl
		// deliberately holds fields the schema rejects.
		valid bool
	}{
		{name: "covid", valid: true},
		{name: "search", valid: true},
		{name: "values", valid: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := hclReadTestdata(t, tt.name+".hcl")
			f, ds := hclToCUE(tt.name+".hcl", src)
			if len(ds) > 0 {
				t.Fatalf("hclToCUE: unexpected diagnostics:\n%v", ds)
			}
			ctx := cuecontext.New()
			want := hclJSON(t, ctx.CompileBytes(hclReadTestdata(t, tt.name+".cue")))

			if got := hclJSON(t, ctx.BuildFile(f)); !cmp.Equal(got, want) {
				t.Errorf("AST value differs from %s.cue (-got +want):\n%s", tt.name, cmp.Diff(got, want))
			}
			text, err := format.Node(f)
			if err != nil {
				t.Fatalf("format.Node: %v", err)
			}
			if got := hclJSON(t, ctx.CompileBytes(text)); !cmp.Equal(got, want) {
				t.Errorf("formatted value differs from %s.cue (-got +want):\n%s\nformatted:\n%s", tt.name, cmp.Diff(got, want), text)
			}

			if tt.valid {
				project := hclSchema(t, ctx)
				if err := project.Unify(ctx.BuildFile(f)).Validate(cue.Concrete(true)); err != nil {
					t.Errorf("converted spec does not pass the schema: %v", err)
				}
			}
		})
	}
}

// TestHCLToCUEOrder checks that fields come out in the order they were
// written, which the formatted CUE and the order of error messages follow.
func TestHCLToCUEOrder(t *testing.T) {
	src := `
stage "b" {
  params = { z = 1, a = 2, m = 3 }
  image  = "x"
  output "o2" { path = "o2" }
  cmd    = ["true"]
  output "o1" { path = "o1" }
}
stage "a" {
  cmd = ["true"]
}
dataset "d" { path = "d" }
version = 1
`
	f, ds := hclToCUE("order.hcl", []byte(src))
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%v", ds)
	}
	v := cuecontext.New().BuildFile(f)
	tests := []struct {
		path string
		want []string
	}{
		{"", []string{"stages", "datasets", "version"}},
		{"stages", []string{"b", "a"}},
		{"stages.b", []string{"params", "image", "outputs", "cmd"}},
		{"stages.b.params", []string{"z", "a", "m"}},
		{"stages.b.outputs", []string{"o2", "o1"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var got []string
			it, err := v.LookupPath(cue.ParsePath(tt.path)).Fields()
			if err != nil {
				t.Fatal(err)
			}
			for it.Next() {
				got = append(got, it.Selector().String())
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("fields of %q (-got +want):\n%s", tt.path, diff)
			}
		})
	}
}

// TestHCLToCUEPositions checks that values and labels point back at the HCL
// source, counting columns in bytes.
func TestHCLToCUEPositions(t *testing.T) {
	src := hclReadTestdata(t, "covid.hcl")
	f, ds := hclToCUE("covid.hcl", src)
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%v", ds)
	}
	v := cuecontext.New().BuildFile(f)

	// at returns the line and column of the nth occurrence of text in
	// the source, plus offset bytes.
	at := func(text string, nth, offset int) string {
		i := -1
		for range nth + 1 {
			j := strings.Index(string(src[i+1:]), text)
			if j < 0 {
				t.Fatalf("%q not found %d times in covid.hcl", text, nth+1)
			}
			i += j + 1
		}
		i += offset
		line := strings.Count(string(src[:i]), "\n") + 1
		col := i - strings.LastIndex(string(src[:i]), "\n")
		return fmt.Sprintf("%d:%d", line, col)
	}

	// CUE gives the value of a field the position of the field's label,
	// so that is where later checks report problems with the value; the
	// position of the value itself is that of its expression.
	values := []struct {
		path  string
		label string // "" for list elements, which have none
		value string
	}{
		{"stages.featurize.image", at("image", 1, 0), at(`"lattice-test/python:3-numpy"`, 1, 0)},
		{"stages.featurize.retries", at("retries", 0, 0), at("retries = 2", 0, len("retries = "))},
		{"stages.featurize.params.lr", at("lr = 0.1,", 0, 0), at("lr = 0.1,", 0, len("lr = "))},
		{"stages.featurize.cmd[3]", "", at(`"${params.lr}"`, 0, 0)},
		{"stages.featurize.resources.cpus", at("cpus", 0, 0), at("1.5", 0, 0)},
		{"stages.featurize.inputs.prev.output", at("output =", 0, 0), at(`"clean"`, 1, 0)},
		{"experiments.sweep.space.grid.l2[1]", "", at("0.01", 0, 0)},
		{"experiments.sweep.select.gates[0]", "", at(`"auc >= 0.8"`, 0, 0)},
		{"experiments.sweep.select.gates", at("gates", 0, 0), at(`["auc >= 0.8"]`, 0, 0)},
	}
	for _, tt := range values {
		t.Run("value "+tt.path, func(t *testing.T) {
			x := v.LookupPath(cue.ParsePath(tt.path))
			p := x.Pos()
			want := tt.label
			if want == "" {
				want = tt.value
			}
			if got := fmt.Sprintf("%d:%d", p.Line(), p.Column()); got != want {
				t.Errorf("Pos() = %s, want %s", got, want)
			}
			if got := p.Filename(); got != "covid.hcl" {
				t.Errorf("filename = %q, want covid.hcl", got)
			}
			if tt.label == "" {
				return
			}
			field, ok := x.Source().(*ast.Field)
			if !ok {
				t.Fatalf("Source() = %T, want *ast.Field", x.Source())
			}
			vp := field.Value.Pos()
			if got := fmt.Sprintf("%d:%d", vp.Line(), vp.Column()); got != tt.value {
				t.Errorf("value position = %s, want %s", got, tt.value)
			}
		})
	}

	labels := []struct {
		path []string
		want string
	}{
		{[]string{"name"}, at("name    =", 0, 0)},
		{[]string{"stages"}, at(`stage "ingest"`, 0, 0)},
		{[]string{"stages", "featurize"}, at(`"featurize"`, 0, 0)},
		{[]string{"stages", "featurize", "image"}, at("image", 1, 0)},
		{[]string{"stages", "featurize", "params", "epochs"}, at("epochs", 0, 0)},
		{[]string{"stages", "featurize", "resources"}, at("resources", 0, 0)},
		{[]string{"stages", "featurize", "inputs"}, at(`input "vitals"`, 0, 0)},
		{[]string{"stages", "featurize", "inputs", "raw"}, at(`"raw"`, 0, 0)},
		{[]string{"experiments", "sweep", "stage"}, at("stage {", 0, 0)},
		{[]string{"experiments", "sweep", "metrics", "auc"}, at(`"auc"`, 0, 0)},
	}
	for _, tt := range labels {
		t.Run("label "+strings.Join(tt.path, "."), func(t *testing.T) {
			field := hclFindField(t, f.Decls, tt.path)
			p := field.Label.Pos()
			if got := fmt.Sprintf("%d:%d", p.Line(), p.Column()); got != tt.want {
				t.Errorf("position = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestHCLToCUEByteColumns checks that columns count bytes, not characters,
// after multi-byte characters on the same line.
func TestHCLToCUEByteColumns(t *testing.T) {
	src := "stage \"s\" {\n  env = { \"ééé\" = \"ü\", X = \"x\" }\n  cmd = [\"ééé\", params.nope]\n}\n"
	f, ds := hclToCUE("bytes.hcl", []byte(src))
	want := "3:20" // `  cmd = ["ééé", ` is 19 bytes but 16 characters.
	if len(ds) != 1 {
		t.Fatalf("got %d diagnostics, want 1:\n%v", len(ds), ds)
	}
	if got := fmt.Sprintf("%d:%d", ds[0].Subject.Start.Line, ds[0].Subject.Start.Column); got != want {
		t.Errorf("diagnostic at %s, want %s", got, want)
	}
	if got, want := ds[0].Subject.Start.Byte, strings.Index(src, "params.nope"); got != want {
		t.Errorf("diagnostic at byte %d, want %d", got, want)
	}

	field := hclFindField(t, f.Decls, []string{"stages", "s", "env", "X"})
	if got, want := fmt.Sprintf("%d:%d", field.Label.Pos().Line(), field.Label.Pos().Column()), "2:28"; got != want {
		t.Errorf("label X at %s, want %s", got, want)
	}
}

// TestHCLToCUEPlaceholders checks what params.NAME, inputs.NAME and
// outputs.NAME evaluate to, and which names each stage may use.
func TestHCLToCUEPlaceholders(t *testing.T) {
	stage := func(body string) string {
		return "stage \"s\" {\n  params = { lr = 0.1, name = \"n\" }\n  input \"raw\" { path = \"raw\" }\n  output \"out\" { path = \"out\" }\n" + body + "\n}\n"
	}
	tests := []struct {
		name string
		expr string
		want any
	}{
		{"interpolation", `"${params.lr}"`, "${params.lr}"},
		{"inside text", `"--lr=${params.lr}"`, "--lr=${params.lr}"},
		{"bare reference", `inputs.raw`, "${inputs.raw}"},
		{"index", `outputs["out"]`, "${outputs.out}"},
		{"several", `"${inputs.raw}:${outputs.out}:${params.name}"`, "${inputs.raw}:${outputs.out}:${params.name}"},
		{"escape", `"$${params.lr}"`, "${params.lr}"},
		{"escape of an undeclared name", `"$${params.nope}"`, "${params.nope}"},
		{"directive", `"%{ if true }${params.lr}%{ endif }"`, "${params.lr}"},
		{"heredoc", "<<EOT\n${params.lr}\nEOT", "${params.lr}\n"},
		{"in a list", `["a", params.lr]`, []any{"a", "${params.lr}"}},
		{"in an object", `{ k = params.lr }`, map[string]any{"k": "${params.lr}"}},
		{"in a key", `{ "${params.name}" = 1, (inputs.raw) = 2 }`, map[string]any{"${params.name}": 1.0, "${inputs.raw}": 2.0}},
		{"for expression", `[for x in ["a", "b"]: "${x}=${params.lr}"]`, []any{"a=${params.lr}", "b=${params.lr}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ds := hclToCUE("p.hcl", []byte(stage("  x = "+tt.expr)))
			if len(ds) > 0 {
				t.Fatalf("unexpected diagnostics:\n%v", ds)
			}
			got := hclJSON(t, cuecontext.New().BuildFile(f).LookupPath(cue.ParsePath("stages.s.x")))
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("value (-got +want):\n%s", diff)
			}
		})
	}
}

// TestHCLToCUEDeclaredNames checks the ways a stage can declare the names
// its placeholders use; each source must convert without diagnostics.
func TestHCLToCUEDeclaredNames(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{
			name: "blocks",
			src: `stage "s" {
  cmd = ["${inputs.a}", "${outputs.b}"]
  input "a" { path = "a" }
  output "b" { path = "b" }
}`,
		},
		{
			name: "attributes",
			src: `stage "s" {
  cmd     = ["${inputs.a}", "${outputs.b}", "${params.c}"]
  inputs  = { a = { path = "a" } }
  outputs = { "b" = { path = "b" } }
  params  = { "c" = 1 }
}`,
		},
		{
			name: "params block",
			src: `stage "s" {
  cmd = ["${params.lr}"]
  params {
    lr = 0.1
  }
}`,
		},
		{
			name: "space attribute",
			src: `experiment "e" {
  stage {
    cmd = ["${params.a}", "${params.b}", "${params.c}"]
  }
  space = {
    grid   = { a = [1] }
    list   = [{ b = 1 }]
    random = { params = { c = { min = 0 } } }
  }
}`,
		},
		{
			name: "space block with attributes",
			src: `experiment "e" {
  stage {
    cmd = ["${params.a}", "${params.c}"]
  }
  space {
    grid   = { a = [1] }
    random = { params = { c = { min = 0 } } }
  }
}`,
		},
		{
			name: "random block with a params attribute",
			src: `experiment "e" {
  stage {
    cmd = ["${params.d}"]
  }
  space {
    random {
      params = { d = { min = 0 } }
    }
  }
}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ds := hclToCUE("names.hcl", []byte(tt.src)); len(ds) > 0 {
				t.Errorf("unexpected diagnostics:\n%v", ds)
			}
		})
	}
}

// TestHCLToCUENumbers checks that numbers keep their written form where
// there is one, and that computed ones are integers when integral.
func TestHCLToCUENumbers(t *testing.T) {
	tests := []struct {
		expr     string
		wantText string
		wantKind cue.Kind
	}{
		{"2", "2", cue.IntKind},
		{"007", "7", cue.IntKind},
		{"0.10", "0.10", cue.FloatKind},
		{"2.0", "2.0", cue.FloatKind},
		{"1e3", "1e3", cue.FloatKind},
		{"1E-3", "1e-3", cue.FloatKind},
		{"-12", "-12", cue.IntKind},
		{"-0.50", "-0.50", cue.FloatKind},
		{"(0.5)", "0.5", cue.FloatKind},
		{"1 + 2", "3", cue.IntKind},
		{"2.0 * 3", "6", cue.IntKind},
		{"1 / 4", "0.25", cue.FloatKind},
		{"0.1 + 0.2", "0.3", cue.FloatKind},
		{"1 / 3", "0.3333333333333333", cue.FloatKind},
		{"-1 / 4", "-0.25", cue.FloatKind},
		{"0 - 5", "-5", cue.IntKind},
		{"123456789012345678901234567890", "123456789012345678901234567890", cue.IntKind},
		{"123456789012345678901234567890 + 1", "123456789012345678901234567891", cue.IntKind},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, ds := hclToCUE("n.hcl", []byte("x = "+tt.expr+"\n"))
			if len(ds) > 0 {
				t.Fatalf("unexpected diagnostics:\n%v", ds)
			}
			x := f.Decls[0].(*ast.Field).Value
			text, err := format.Node(x)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(text); got != tt.wantText {
				t.Errorf("CUE text = %s, want %s", got, tt.wantText)
			}
			v := cuecontext.New().BuildFile(f).LookupPath(cue.ParsePath("x"))
			if got := v.Kind(); got != tt.wantKind {
				t.Errorf("kind = %v, want %v", got, tt.wantKind)
			}
		})
	}
}

// hclDiagView is the part of a diagnostic the tests compare.
type hclDiagView struct {
	At      string // line:column
	Summary string
	Hint    string
	Path    string
	Notes   []string // line:column message
}

func hclViews(ds diag.Diagnostics) []hclDiagView {
	var out []hclDiagView
	for _, d := range ds {
		v := hclDiagView{
			At:      fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column),
			Summary: d.Summary,
			Hint:    d.Hint,
			Path:    d.Path,
		}
		if d.Severity != diag.Error {
			v.Summary = d.Severity.String() + ": " + v.Summary
		}
		for _, n := range d.Notes {
			v.Notes = append(v.Notes, fmt.Sprintf("%d:%d %s", n.Range.Start.Line, n.Range.Start.Column, n.Message))
		}
		out = append(out, v)
	}
	return out
}

// TestHCLToCUEDiagnostics checks the problems reported for bad specs; each
// case holds several, all of which must be reported.
func TestHCLToCUEDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []hclDiagView
		// noFile says the source does not parse, so no file comes back.
		noFile bool
	}{
		{
			name: "undeclared placeholders",
			src: `stage "train" {
  params = { lr = 0.1, epochs = 3 }
  cmd    = ["python", "--lr=${params.lrr}", "${inputs.data}", outputs.model, "${params.epochs}"]
  input "dataset" { dataset = "d" }
  output "models" { path = "m" }
  env    = { "${params.nope}" = "x" }
}
`,
			want: []hclDiagView{
				{At: "3:31", Summary: `params.lrr is not declared in stage "train"`, Hint: `did you mean "lr"?`, Path: "stages.train.cmd[1]"},
				{At: "3:48", Summary: `inputs.data is not declared in stage "train"`, Path: "stages.train.cmd[2]"},
				{At: "3:63", Summary: `outputs.model is not declared in stage "train"`, Hint: `did you mean "models"?`, Path: "stages.train.cmd[3]"},
				{At: "6:17", Summary: `params.nope is not declared in stage "train"`, Path: "stages.train.env"},
			},
		},
		{
			name: "experiment stage sees the space",
			src: `experiment "sweep" {
  stage {
    cmd = ["${params.lr}", "${params.l2}", "${params.seed}", "${params.depth}", "${params.tau}", "${params.nope}"]
  }
  space {
    grid = { lr = [0.1], l2 = [0] }
    list = [{ depth = 1 }]
    random {
      seed   = 1
      trials = 1
      param "tau" { min = 0 }
    }
  }
}
`,
			want: []hclDiagView{
				{At: "3:47", Summary: `params.seed is not declared in the stage of experiment "sweep"`, Path: "experiments.sweep.stage.cmd[2]"},
				{At: "3:101", Summary: `params.nope is not declared in the stage of experiment "sweep"`, Path: "experiments.sweep.stage.cmd[5]"},
			},
		},
		{
			name: "placeholders outside a stage",
			src: `dataset "d" {
  path = "data/${params.lr}"
}
experiment "e" {
  select { by = inputs.x }
}
stage "s" {
  cmd = [param.lr, var]
}
`,
			want: []hclDiagView{
				{At: "2:18", Summary: "params.lr cannot be used here", Path: "datasets.d.path"},
				{At: "5:17", Summary: "inputs.x cannot be used here", Path: "experiments.e.select.by"},
				{At: "8:10", Summary: `param.lr is not defined in stage "s"`, Hint: `did you mean "params"?`, Path: "stages.s.cmd[0]"},
				{At: "8:20", Summary: `var is not defined in stage "s"`, Path: "stages.s.cmd[1]"},
			},
		},
		{
			name: "duplicates",
			src: `stage "train" {
  cmd = ["a"]
  resources { cpus = 1 }
  resources { cpus = 2 }
  input "x" { path = "a" }
  input "x" { path = "b" }
}
dataset "train" { path = "d" }
stage "train" {
  cmd = ["${params.x}"]
}
experiment "e" {
  metric "auc" {
    goal = "max"
  }
  metric "auc" {
    goal = "min"
  }
}
`,
			want: []hclDiagView{
				{At: "4:3", Summary: "resources block is declared twice", Path: "stages.train.resources", Notes: []string{"3:3 resources block is first declared here"}},
				{At: "6:9", Summary: `input "x" is declared twice`, Path: "stages.train.inputs.x", Notes: []string{`5:9 input "x" is first declared here`}},
				{At: "9:7", Summary: `stage "train" is declared twice`, Path: "stages.train", Notes: []string{`1:7 stage "train" is first declared here`}},
				{At: "10:13", Summary: `params.x is not declared in stage "train"`, Path: "stages.train.cmd[0]"},
				{At: "16:10", Summary: `metric "auc" is declared twice`, Path: "experiments.e.metrics.auc", Notes: []string{`13:10 metric "auc" is first declared here`}},
			},
		},
		{
			name: "attribute and block set one field",
			src: `datasets = {}
dataset "d" { path = "d" }
stage "s" {
  resources { cpus = 1 }
  resources = { cpus = 2 }
}
foo "a" {}
foo {}
`,
			want: []hclDiagView{
				{At: "2:1", Summary: "datasets is set both by an attribute and by a dataset block", Path: "datasets", Notes: []string{"1:1 datasets is first set here"}},
				{At: "5:3", Summary: "resources is set both by a resources block and by an attribute", Path: "stages.s.resources", Notes: []string{"4:3 resources is first set here"}},
				{At: "8:1", Summary: "foo block is declared twice", Path: "foo", Notes: []string{"7:1 foo block is first declared here"}},
			},
		},
		{
			name: "duplicate object keys",
			src: `stage "s" {
  params = { lr = 1, "lr" = 2, ("l${"r"}") = 3 }
}
`,
			want: []hclDiagView{
				{At: "2:22", Summary: `key "lr" is set twice`, Path: "stages.s.params.lr", Notes: []string{`2:14 key "lr" is first set here`}},
				{At: "2:32", Summary: `key "lr" is set twice`, Path: "stages.s.params.lr", Notes: []string{`2:14 key "lr" is first set here`}},
			},
		},
		{
			name: "null",
			src: `name = null
stage "s" {
  cmd    = ["a", null]
  params = { x = null, y = true ? null : 1 }
}
`,
			want: []hclDiagView{
				{At: "1:8", Summary: "null is not allowed", Hint: "leave it out instead", Path: "name"},
				{At: "3:18", Summary: "null is not allowed", Hint: "leave it out instead", Path: "stages.s.cmd[1]"},
				{At: "4:18", Summary: "null is not allowed", Hint: "leave it out instead", Path: "stages.s.params.x"},
				{At: "4:28", Summary: "null is not allowed", Hint: "leave it out instead", Path: "stages.s.params.y"},
			},
		},
		{
			name: "block names",
			src: `dataset {
  path = "d"
}
stage "a" "b" {}
stage "s" {
  resources "big" {}
}
experiment "e" {
  stage "t" {}
}
`,
			want: []hclDiagView{
				{At: "1:1", Summary: "dataset block needs a name", Hint: `write dataset "NAME" { ... }`, Path: "datasets"},
				{At: "4:11", Summary: "stage block takes one name, not 2", Hint: `write stage "NAME" { ... }`, Path: "stages"},
				{At: "6:13", Summary: "resources block takes no name", Hint: "write resources { ... }", Path: "stages.s.resources"},
				{At: "9:9", Summary: "stage block takes no name", Hint: "write stage { ... }", Path: "experiments.e.stage"},
			},
		},
		{
			name: "unknown blocks",
			src: `stages "s" {}
stagee "x" {
  cmd = [params.lr]
}
stage "s" {
  inputs "x" {}
  inptu "a" "b" {}
}
`,
			want: []hclDiagView{
				{At: "1:1", Summary: "stages is not a block type", Hint: `did you mean "stage"?`, Path: "stages"},
				{At: "3:10", Summary: "params.lr cannot be used here", Path: "stagee.x.cmd[0]"},
				{At: "6:3", Summary: "inputs is not a block type", Hint: `did you mean "input"?`, Path: "stages.s.inputs"},
				{At: "7:13", Summary: "unknown block type inptu has 2 names", Hint: `did you mean "input"?`, Path: "stages.s.inptu"},
			},
		},
		{
			name: "evaluation errors",
			src: `stage "s" {
  cmd     = [upper("x"), 1 / 0, "a" + 1]
  retries = [1][2]
  params  = { big = 1e300 * 1e300, text = "${1e999999999}" }
}
`,
			want: []hclDiagView{
				{At: "2:14", Summary: "Function calls not allowed", Path: "stages.s.cmd[0]"},
				{At: "2:26", Summary: "number is infinite", Path: "stages.s.cmd[1]"},
				{At: "2:33", Summary: "Invalid operand", Path: "stages.s.cmd[2]"},
				{At: "3:16", Summary: "Invalid index", Path: "stages.s.retries"},
				{At: "4:21", Summary: "number is out of range", Path: "stages.s.params.big"},
				{At: "4:46", Summary: "number is out of range", Path: "stages.s.params.text"},
			},
		},
		{
			name: "syntax errors",
			src: `version = 1 name = "x"
stage "s" {
  cmd = ["a" "b"]
  image =
  input "x" {
    path = "a" +
  }
  output "y" { path = }
}
dataset "d" {
  path = "p" +
}
experiment "e" {
  x = 1 y = 2
}
name = "unterminated
`,
			noFile: true,
			want: []hclDiagView{
				{At: "1:13", Summary: "Missing newline after argument"},
				{At: "3:14", Summary: "Missing item separator"},
				{At: "4:10", Summary: "Invalid expression"},
				{At: "6:17", Summary: "Invalid expression"},
				{At: "8:23", Summary: "Invalid expression"},
				{At: "11:15", Summary: "Invalid expression"},
				{At: "14:9", Summary: "Missing newline after argument"},
				{At: "16:21", Summary: "Invalid multi-line string"},
				{At: "16:21", Summary: "Unterminated template string"},
			},
		},
		{
			name: "single-line block with two attributes",
			src: `stage "s" {
  resources { cpus = 1.5  memory = "2Gi" }
}
`,
			noFile: true,
			want: []hclDiagView{
				{At: "2:27", Summary: "Invalid single-argument block definition"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ds := hclToCUE("bad.hcl", []byte(tt.src))
			if diff := cmp.Diff(hclViews(ds), tt.want); diff != "" {
				t.Errorf("diagnostics (-got +want):\n%s", diff)
			}
			for _, d := range ds {
				if d.Subject.Filename != "bad.hcl" {
					t.Errorf("diagnostic %q has file %q, want bad.hcl", d.Summary, d.Subject.Filename)
				}
			}
			if got := f == nil; got != tt.noFile {
				t.Errorf("file is nil: %v, want %v", got, tt.noFile)
			}
		})
	}
}

// TestHCLToCUEHCLDiagnosticDetail checks that HCL's own diagnostics keep
// their detail, which says more than the summary.
func TestHCLToCUEHCLDiagnosticDetail(t *testing.T) {
	_, ds := hclToCUE("d.hcl", []byte("a = 1 b = 2\n"))
	if len(ds) != 1 {
		t.Fatalf("got %d diagnostics, want 1:\n%v", len(ds), ds)
	}
	want := &diag.Diagnostic{
		Severity: diag.Error,
		Summary:  "Missing newline after argument",
		Detail:   "An argument definition must end with a newline.",
		Subject: diag.Range{
			Filename: "d.hcl",
			Start:    diag.Pos{Line: 1, Column: 7, Byte: 6},
			End:      diag.Pos{Line: 1, Column: 8, Byte: 7},
		},
	}
	if diff := cmp.Diff(ds[0], want); diff != "" {
		t.Errorf("diagnostic (-got +want):\n%s", diff)
	}
}

// TestHCLToCUEUndeclaredDetail checks the detail and hint of an undeclared
// placeholder, which list what the stage does declare.
func TestHCLToCUEUndeclaredDetail(t *testing.T) {
	src := `stage "s" {
  params = { lr = 1, l2 = 2 }
  cmd    = ["${params.l3}", "${inputs.x}"]
}
`
	_, ds := hclToCUE("u.hcl", []byte(src))
	type summary struct{ Summary, Detail, Hint string }
	var got []summary
	for _, d := range ds {
		got = append(got, summary{d.Summary, d.Detail, d.Hint})
	}
	want := []summary{
		{`params.l3 is not declared in stage "s"`, "The declared params are: l2, lr.", `did you mean "l2"?`},
		{`inputs.x is not declared in stage "s"`, "There are no inputs declared.", ""},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("diagnostics (-got +want):\n%s", diff)
	}
}

func TestHCLSuggest(t *testing.T) {
	tests := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"lrr", []string{"lr", "epochs"}, "lr"},
		{"epoch", []string{"lr", "epochs"}, "epochs"},
		{"x", []string{"y", "lr"}, ""},
		{"outptus", []string{"outputs", "inputs"}, "outputs"},
		{"features", []string{"lr"}, ""},
		{"ǎb", []string{"ab"}, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hclSuggest(tt.name, tt.candidates); got != tt.want {
				t.Errorf("hclSuggest(%q, %q) = %q, want %q", tt.name, tt.candidates, got, tt.want)
			}
		})
	}
}

// FuzzHCLToCUE checks that no input makes the converter panic, and that a
// file converted without errors evaluates, and formats to CUE text that
// evaluates to the same value.
func FuzzHCLToCUE(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "hcl", "*.hcl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range seeds {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("stage \"s\" {\n  params = { lr = 1 }\n  cmd = [\"${params.lr}\", 1/0, null]\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, ds := hclToCUE("fuzz.hcl", src)
		for _, d := range ds {
			if d.Summary == "" {
				t.Errorf("diagnostic without a summary: %+v", d)
			}
		}
		if ds.HasErrors() {
			return
		}
		if file == nil {
			t.Fatal("no diagnostics and no file")
		}
		ctx := cuecontext.New()
		v := ctx.BuildFile(file)
		if err := v.Validate(cue.Concrete(true)); err != nil {
			t.Fatalf("converted file does not evaluate: %v", err)
		}
		text, err := format.Node(file)
		if err != nil {
			t.Fatalf("format.Node: %v", err)
		}
		formatted := ctx.CompileBytes(text)
		if err := formatted.Err(); err != nil {
			t.Fatalf("formatted file does not compile: %v\n%s", err, text)
		}
		if !v.Equals(formatted) {
			t.Fatalf("formatted file has a different value:\n%s", text)
		}
	})
}

// hclReadTestdata reads a file of testdata/hcl.
func hclReadTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hcl", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hclJSON returns the value of v decoded from JSON, so that values from
// different sources compare regardless of field order.
func hclJSON(t *testing.T, v cue.Value) any {
	t.Helper()
	if err := v.Validate(cue.Concrete(true)); err != nil {
		t.Fatalf("value does not evaluate: %v", err)
	}
	b, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	return x
}

// hclSchema returns the schema's #Project.
func hclSchema(t *testing.T, ctx *cue.Context) cue.Value {
	t.Helper()
	src, ok := schemas.Files()["lattice.cue"]
	if !ok {
		t.Fatal("schema file lattice.cue not found")
	}
	v := ctx.CompileBytes(src).LookupPath(cue.ParsePath("#Project"))
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
	return v
}

// hclFindField returns the field at path in decls, following struct
// values.
func hclFindField(t *testing.T, decls []ast.Decl, path []string) *ast.Field {
	t.Helper()
	for i, name := range path {
		var found *ast.Field
		for _, d := range decls {
			f, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			if got, _, _ := ast.LabelName(f.Label); got == name {
				found = f
				break
			}
		}
		if found == nil {
			t.Fatalf("field %s not found", strings.Join(path[:i+1], "."))
		}
		if i == len(path)-1 {
			return found
		}
		s, ok := found.Value.(*ast.StructLit)
		if !ok {
			t.Fatalf("field %s is not a struct", strings.Join(path[:i+1], "."))
		}
		decls = s.Elts
	}
	panic("unreachable")
}
