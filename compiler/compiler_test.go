package compiler

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/lang"
	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

// fakeImages pins every image to a digest derived from its name.
type fakeImages struct{}

func (fakeImages) Resolve(_ context.Context, ref string) (string, error) {
	return "sha256:" + digest.String(ref).Hex(), nil
}

// fakeCache is an in-memory stand-in for the output cache.
type fakeCache map[string]map[string]string

func (c fakeCache) Lookup(key string) (map[string]string, bool) {
	o, ok := c[key]
	return o, ok
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func load(t testing.TB, dir string) *spec.Project {
	t.Helper()
	l, err := lang.NewLoader(lang.WorkDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	res, ds := l.Load(dir)
	if ds.HasErrors() {
		var b strings.Builder
		diag.Render(&b, ds, res.Source, diag.RenderOptions{})
		t.Fatalf("spec does not load:\n%s", b.String())
	}
	return res.Project
}

func compile(t testing.TB, dir string, opts ...Option) *plan.Plan {
	t.Helper()
	p, ds, err := Compile(context.Background(), load(t, dir), dir, append([]Option{WithImages(fakeImages{})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if ds.HasErrors() {
		t.Fatalf("compile: %v", ds)
	}
	return p
}

// fakeApply does what apply does to the workspace and the lockfile,
// without running anything: in dependency order, it completes each stage's
// pre-image with its upstream outputs' digests, writes each output with
// content derived from the key (so that equal keys give equal outputs), and
// records the result in a lock.
func fakeApply(t testing.TB, dir string, p *plan.Plan) *plan.Lock {
	t.Helper()
	lock := plan.NewLock()
	for _, d := range p.Datasets {
		lock.Datasets[d.Name] = &plan.LockedDataset{Path: d.Path, Digest: d.Digest}
	}
	outputs := map[string]string{} // path → digest
	h := digest.NewHasher()
	for _, s := range p.Stages {
		pre := s.Preimage
		pre.Inputs = append([]plan.KeyIO(nil), s.Preimage.Inputs...)
		for i, in := range pre.Inputs {
			if in.Digest == plan.Pending {
				d, ok := outputs[in.Path]
				if !ok {
					t.Fatalf("stage %s: pending input %s has no producer output", s.Name, in.Path)
				}
				pre.Inputs[i].Digest = d
			}
		}
		key := pre.Key()
		if key.IsZero() {
			t.Fatalf("stage %s: key still pending", s.Name)
		}
		ls := &plan.LockedStage{Key: key.String(), Preimage: pre, Outputs: map[string]*plan.LockedOutput{}}
		for _, o := range s.Outputs {
			writeFiles(t, dir, map[string]string{o.Path: "output " + o.Name + " of " + key.String() + "\n"})
			res, err := h.Path(context.Background(), filepath.Join(dir, o.Path))
			if err != nil {
				t.Fatal(err)
			}
			outputs[o.Path] = res.Digest.String()
			ls.Outputs[o.Name] = &plan.LockedOutput{Path: o.Path, Kind: o.Kind, Digest: res.Digest.String()}
		}
		lock.Stages[s.Name] = ls
	}
	for _, s := range p.Stages {
		if s.Image != "" {
			lock.Images[s.Image] = s.Preimage.Image
		}
	}
	return lock
}

func actions(p *plan.Plan) map[string]string {
	out := map[string]string{}
	for _, s := range p.Stages {
		out[s.Name] = string(s.Action)
	}
	return out
}

// chainSpec writes a pipeline of n stages in chains of five: stage i reads
// the output of stage i-1 unless i is a multiple of five, in which case it
// reads the dataset.
func chainSpec(n int, lrFor func(i int) string) string {
	var b strings.Builder
	b.WriteString("datasets: raw: path: \"data/raw.csv\"\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "stages: s%02d: {\n\timage: \"busybox:1\"\n\tcmd: [\"sh\", \"-c\", \"cp ${inputs.in} ${outputs.out}\"]\n", i)
		fmt.Fprintf(&b, "\tparams: lr: %s\n", lrFor(i))
		if i%5 == 0 {
			b.WriteString("\tinputs: in: dataset: \"raw\"\n")
		} else {
			fmt.Fprintf(&b, "\tinputs: in: stage: \"s%02d\"\n", i-1)
		}
		fmt.Fprintf(&b, "\toutputs: out: path: \"out/s%02d.txt\"\n}\n", i)
	}
	return b.String()
}

func TestParamChangeRunsOnlyThatStageAndDependents(t *testing.T) {
	dir := t.TempDir()
	lr := func(i int) string { return "0.1" }
	writeFiles(t, dir, map[string]string{"pipeline.cue": chainSpec(50, lr), "data/raw.csv": "a,b\n1,2\n"})

	first := compile(t, dir)
	if first.Summary.Run != 50 {
		t.Fatalf("first plan runs %d stages, want 50", first.Summary.Run)
	}
	lock := fakeApply(t, dir, first)

	again := compile(t, dir, WithLock(lock))
	if again.Summary.UpToDate != 50 || again.Summary.Changes() {
		t.Fatalf("after apply: %+v, want 50 up-to-date", again.Summary)
	}

	lr = func(i int) string {
		if i == 12 {
			return "0.3"
		}
		return "0.1"
	}
	writeFiles(t, dir, map[string]string{"pipeline.cue": chainSpec(50, lr)})
	changed := compile(t, dir, WithLock(lock))
	want := map[string]string{}
	for i := 0; i < 50; i++ {
		want[fmt.Sprintf("s%02d", i)] = "up-to-date"
	}
	want["s12"], want["s13"], want["s14"] = "run", "run", "run"
	if diff := cmp.Diff(want, actions(changed)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	s12 := changed.Stage("s12")
	if got, want := s12.Reason, "params.lr: 0.1 → 0.3"; got != want {
		t.Errorf("s12 reason = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]plan.Change{{Field: "params.lr", Old: "0.1", New: "0.3"}}, s12.Changes); diff != "" {
		t.Errorf("s12 changes (-want +got):\n%s", diff)
	}
	if got := changed.Stage("s13").Reason; got != "upstream changed (s12)" {
		t.Errorf("s13 reason = %q", got)
	}
	if changed.Stage("s13").Key != "" {
		t.Errorf("s13 has a key although its input is pending")
	}
}

func TestSameKeysInAnotherDirectory(t *testing.T) {
	files := map[string]string{
		"pipeline.cue": chainSpec(10, func(int) string { return "0.5" }) +
			"stages: s03: code: \"src\"\n",
		"data/raw.csv": "a,b\n1,2\n",
		"src/main.py":  "print('hi')\n",
	}
	keys := func(dir string) map[string]string {
		writeFiles(t, dir, files)
		p := compile(t, dir)
		lock := fakeApply(t, dir, p)
		p = compile(t, dir, WithLock(lock))
		out := map[string]string{}
		for _, s := range p.Stages {
			out[s.Name] = s.Key
			if s.Key == "" {
				t.Fatalf("%s: no key", s.Name)
			}
		}
		return out
	}
	a := keys(filepath.Join(t.TempDir(), "one"))
	b := keys(filepath.Join(t.TempDir(), "elsewhere", "two"))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("keys differ between directories (-a +b):\n%s", diff)
	}
}

func TestEditOneFileOfLargeDataset(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 10,000 files")
	}
	dir := t.TempDir()
	files := map[string]string{
		"pipeline.cue": `
datasets: images: path: "data/images"
stages: count: {
	image: "busybox:1"
	cmd: ["sh", "-c", "ls ${inputs.images} | wc -l > ${outputs.n}"]
	inputs: images: dataset: "images"
	outputs: n: path: "out/n.txt"
}
`,
	}
	for i := 0; i < 10000; i++ {
		files[fmt.Sprintf("data/images/%02d/img_%05d.txt", i%100, i)] = fmt.Sprintf("pixel data %d\n", i)
	}
	writeFiles(t, dir, files)
	// Files are usually older than the stat cache's racy window: files
	// written within it are re-read whatever happens, as git's index does.
	age := func(sub string) {
		old := time.Now().Add(-time.Hour)
		filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				err = os.Chtimes(p, old, old)
			}
			return err
		})
	}
	age("data")
	state := filepath.Join(dir, ".lattice")
	manifests := digest.NewManifestStore(filepath.Join(state, "manifests"))
	lock := plan.NewLock()
	plan1 := func() (*plan.Plan, digest.Stats) {
		sc := digest.OpenStatCache(filepath.Join(state, "statcache"))
		h := digest.NewHasher(digest.WithStatCache(sc))
		p := compile(t, dir, WithHasher(h), WithManifests(manifests), WithLock(lock))
		if err := sc.Save(); err != nil {
			t.Fatal(err)
		}
		return p, h.Stats()
	}
	first, _ := plan1()
	lock = fakeApply(t, dir, first)
	age("out")
	plan1() // records the outputs in the stat cache, as the apply would

	// Edit one byte of one file, keeping its size.
	writeFiles(t, dir, map[string]string{"data/images/42/img_00042.txt": "pixel data 43\n"})
	p, stats := plan1()
	if stats.FilesHashed != 1 {
		t.Errorf("re-hash read %d files, want exactly 1 (stats %+v)", stats.FilesHashed, stats)
	}
	if stats.FilesChecked < 10000 {
		t.Errorf("checked %d files, want all 10,000", stats.FilesChecked)
	}
	d := p.Datasets[0]
	if d.Changed == nil || !cmp.Equal(d.Changed.Files, []string{"42/img_00042.txt"}) {
		t.Fatalf("dataset change = %+v, want the one edited file", d.Changed)
	}
	s := p.Stage("count")
	if s.Action != plan.Run || len(s.Changes) != 1 || !strings.Contains(s.Changes[0].Note, "42/img_00042.txt") {
		t.Errorf("stage count: action %s, changes %+v; want run naming the edited file", s.Action, s.Changes)
	}
}

func TestSecretValuesNeverInPlans(t *testing.T) {
	dir := t.TempDir()
	const secret = "s3cr3t-value-that-must-not-leak"
	t.Setenv("API_TOKEN", secret)
	writeFiles(t, dir, map[string]string{"pipeline.cue": `
stages: upload: {
	image: "busybox:1"
	cmd: ["sh", "-c", "echo $API_TOKEN > ${outputs.receipt}"]
	env: MODE: "prod"
	secrets: ["API_TOKEN"]
	outputs: receipt: path: "out/receipt.txt"
}
`})
	p := compile(t, dir)
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) {
		t.Fatalf("secret value in plan JSON")
	}
	if !strings.Contains(string(b), "API_TOKEN") {
		t.Errorf("the secret's name should be in the plan")
	}
	if strings.Contains(p.Stage("upload").Preimage.Text(), secret) {
		t.Fatalf("secret value in key pre-image")
	}
}

func TestCycleReportsEveryEdge(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"pipeline.cue": `stages: a: {
	image: "busybox:1"
	cmd: ["true"]
	inputs: x: stage: "c"
	outputs: o: path: "out/a"
}
stages: b: {
	image: "busybox:1"
	cmd: ["true"]
	inputs: x: stage: "a"
	outputs: o: path: "out/b"
}
stages: c: {
	image: "busybox:1"
	cmd: ["true"]
	inputs: x: path: "out/b/part.csv"
	outputs: o: path: "out/c"
}
`})
	_, ds, err := Compile(context.Background(), load(t, dir), dir, WithImages(fakeImages{}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	diag.Render(&b, ds, func(string) []byte { return nil }, diag.RenderOptions{})
	want := `pipeline.cue:4:10: error: stages form a cycle: "a" reads from "c" reads from "b" reads from "a"
  pipeline.cue:4:10: note: stage "a" reads from stage "c" here
  pipeline.cue:16:10: note: stage "c" reads from stage "b" here
  pipeline.cue:10:10: note: stage "b" reads from stage "a" here
  hint: a pipeline must be acyclic; remove one of these inputs
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("cycle diagnostic (-want +got):\n%s", diff)
	}
}

func TestStale(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"pipeline.cue": chainSpec(5, func(int) string { return "1" }),
		"data/raw.csv": "a\n1\n",
	})
	p := compile(t, dir)
	h := digest.NewHasher()
	got, err := Stale(context.Background(), p, dir, "", h)
	if err != nil || len(got) != 0 {
		t.Fatalf("fresh plan: stale = %v, %v", got, err)
	}
	writeFiles(t, dir, map[string]string{"data/raw.csv": "a\n2\n"})
	got, err = Stale(context.Background(), p, dir, "blake3:"+strings.Repeat("0", 64), h)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"lattice.lock was created after the plan was made", `dataset "raw" (data/raw.csv) changed`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stale (-want +got):\n%s", diff)
	}
}

func TestCachedStage(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"pipeline.cue": chainSpec(2, func(int) string { return "1" }),
		"data/raw.csv": "a\n1\n",
	})
	p := compile(t, dir)
	k := p.Stage("s00").Key
	c := fakeCache{k: {"out": digest.String("cached output").String()}}
	p = compile(t, dir, WithCache(c))
	if got := actions(p); got["s00"] != "cached" || got["s01"] != "run" {
		t.Fatalf("actions = %v, want s00 cached and s01 run", got)
	}
	// s01's input digest is known from the cache entry, so its key is too.
	if p.Stage("s01").Key == "" {
		t.Errorf("s01 should have a key: its input comes from a cache entry")
	}
}
