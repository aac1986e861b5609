package plan

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// FormatVersion is the version of the plan's JSON form. It changes only when
// a field changes meaning or is removed; new fields may appear within a
// version.
const FormatVersion = "1"

// Action says what apply will do with a stage.
type Action string

// Actions, in the order the human rendering lists their counts.
const (
	// Run: the stage runs (no cache entry for its key, caching is off for
	// it, or an upstream stage runs first).
	Run Action = "run"
	// Cached: the cache holds the stage's key; apply restores the outputs
	// without running anything.
	Cached Action = "cached"
	// UpToDate: the workspace already holds the outputs that the lockfile
	// records for the stage's key.
	UpToDate Action = "up-to-date"
	// Remove: the lockfile records a stage that the spec no longer declares;
	// apply drops it from the lockfile (its output files are left alone).
	Remove Action = "remove"
)

// Symbol is the one-character mark of an action in human renderings.
func (a Action) Symbol() string {
	switch a {
	case Run:
		return "+"
	case Cached:
		return "~"
	case UpToDate:
		return "="
	case Remove:
		return "-"
	}
	return "?"
}

// Plan is the complete, resolved description of what apply will do. It is
// pure data: the executor reads nothing else.
type Plan struct {
	FormatVersion string `json:"format_version"`
	Tool          Tool   `json:"tool"`
	Project       string `json:"project"`
	// Lock identifies the lockfile the plan was computed against: the
	// digest of its bytes, or empty when there was none.
	Lock string `json:"lock"`
	// Platform is the OS/architecture stages run on, e.g. linux/amd64.
	Platform    string        `json:"platform"`
	Datasets    []*Dataset    `json:"datasets"`
	Stages      []*Stage      `json:"stages"`
	Experiments []*Experiment `json:"experiments"`
	Removed     []*Removed    `json:"removed"`
	Summary     Summary       `json:"summary"`
}

// Tool names the program that produced a plan.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Summary counts stages by action.
type Summary struct {
	Run      int `json:"run"`
	Cached   int `json:"cached"`
	UpToDate int `json:"up_to_date"`
	Remove   int `json:"remove"`
}

// Changes reports whether applying the plan would do anything.
func (s Summary) Changes() bool { return s.Run+s.Cached+s.Remove > 0 }

// Dataset is a resolved dataset with its content digest.
type Dataset struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Files  int    `json:"files"`
	Dir    bool   `json:"dir"`
	// Changed lists what differs from the lockfile: nil when the digest is
	// the locked one or there is no lock entry.
	Changed *DatasetChange `json:"changed,omitempty"`
}

// DatasetChange describes how a dataset moved since the lockfile.
type DatasetChange struct {
	Old string `json:"old"`
	// Files lists changed, added and removed files of a directory dataset,
	// as "path", "+path" and "-path", when the old manifest is known;
	// at most MaxChangedFiles of them, with Truncated set beyond that.
	Files     []string `json:"files"`
	Truncated int      `json:"truncated,omitempty"`
}

// MaxChangedFiles caps DatasetChange.Files so that a plan stays readable
// when a whole directory changes.
const MaxChangedFiles = 20

// Stage is one stage instance: a declared stage or an experiment trial.
type Stage struct {
	Name string `json:"name"`
	// Experiment and TrialParams are set for experiment trials.
	Experiment  string  `json:"experiment,omitempty"`
	TrialParams []Param `json:"trial_params,omitempty"`
	// Image is the reference as written; the pinned digest is in Preimage.
	Image string `json:"image,omitempty"`
	// CodePath is the stage's code directory, if any.
	CodePath string `json:"code_path,omitempty"`
	// Inputs says where each input comes from; Preimage holds their paths
	// and digests.
	Inputs   []Input  `json:"inputs"`
	Outputs  []Output `json:"outputs"`
	Preimage Preimage `json:"preimage"`
	// Key is the action key, or empty while an input is pending.
	Key       string        `json:"key"`
	Deps      []string      `json:"deps"`
	Resources Resources     `json:"resources"`
	Retries   int           `json:"retries"`
	Timeout   time.Duration `json:"timeout_ns"`
	Cache     bool          `json:"cache"`
	Action    Action        `json:"action"`
	// Reason says why, in a few words: "new", "params.lr 0.1 → 0.3",
	// "upstream changed (train)", "output out/model.bin is missing".
	Reason string `json:"reason"`
	// Changes lists every field that differs from the locked stage.
	Changes []Change `json:"changes"`
	// InLock says whether the lockfile has an entry for the stage; a stage
	// that runs without one is new.
	InLock bool `json:"in_lock"`
}

// Input kinds.
const (
	FromDataset = "dataset"
	FromStage   = "stage"
	FromPath    = "path"
)

// Input is where one input of a stage comes from.
type Input struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// From is dataset, stage or path.
	From    string `json:"from"`
	Dataset string `json:"dataset,omitempty"`
	// Stage and Output name the producing stage's output, for inputs read
	// from a stage and for paths inside another stage's output.
	Stage  string `json:"stage,omitempty"`
	Output string `json:"output,omitempty"`
}

// Output is one declared output.
type Output struct {
	Name string `json:"name"`
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Digest is the content digest when known before apply: for stages
	// that are up-to-date or cached.
	Digest string `json:"digest,omitempty"`
}

// Resources limit a stage's container.
type Resources struct {
	CPUs        float64 `json:"cpus"`
	MemoryBytes int64   `json:"memory_bytes"`
}

// Experiment groups the trials of one experiment.
type Experiment struct {
	Name    string   `json:"name"`
	Trials  []string `json:"trials"`
	Metrics []Metric `json:"metrics"`
	// SelectBy names the metric that picks the winner.
	SelectBy string `json:"select_by"`
	Gates    []Gate `json:"gates"`
}

// Metric is one metric the trials report.
type Metric struct {
	Name   string `json:"name"`
	Goal   string `json:"goal"`
	Output string `json:"output"`
}

// Gate is a threshold the winner must pass.
type Gate struct {
	Metric string  `json:"metric"`
	Op     string  `json:"op"`
	Value  float64 `json:"value"`
	Text   string  `json:"text"`
}

// Pass reports whether a metric value passes the gate.
func (g Gate) Pass(v float64) bool {
	switch g.Op {
	case ">=":
		return v >= g.Value
	case ">":
		return v > g.Value
	case "<=":
		return v <= g.Value
	case "<":
		return v < g.Value
	case "==":
		return v == g.Value
	case "!=":
		return v != g.Value
	}
	return false
}

// Removed is a locked stage the spec no longer declares.
type Removed struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Stage returns the stage with the given name, or nil.
func (p *Plan) Stage(name string) *Stage {
	for _, s := range p.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Count fills in the summary from the stages' actions.
func (p *Plan) Count() {
	var s Summary
	for _, st := range p.Stages {
		switch st.Action {
		case Run:
			s.Run++
		case Cached:
			s.Cached++
		case UpToDate:
			s.UpToDate++
		}
	}
	s.Remove = len(p.Removed)
	p.Summary = s
}

// Fill replaces nil slices by empty ones so that JSON never has null
// arrays.
func (p *Plan) Fill() {
	if p.Datasets == nil {
		p.Datasets = []*Dataset{}
	}
	if p.Stages == nil {
		p.Stages = []*Stage{}
	}
	if p.Experiments == nil {
		p.Experiments = []*Experiment{}
	}
	if p.Removed == nil {
		p.Removed = []*Removed{}
	}
	for _, d := range p.Datasets {
		if d.Changed != nil && d.Changed.Files == nil {
			d.Changed.Files = []string{}
		}
	}
	for _, s := range p.Stages {
		s.Preimage.fill()
		if s.Inputs == nil {
			s.Inputs = []Input{}
		}
		if s.Outputs == nil {
			s.Outputs = []Output{}
		}
		if s.Deps == nil {
			s.Deps = []string{}
		}
		if s.Changes == nil {
			s.Changes = []Change{}
		}
	}
	for _, e := range p.Experiments {
		if e.Trials == nil {
			e.Trials = []string{}
		}
		if e.Metrics == nil {
			e.Metrics = []Metric{}
		}
		if e.Gates == nil {
			e.Gates = []Gate{}
		}
	}
}

func (p *Preimage) fill() {
	if p.Argv == nil {
		p.Argv = []string{}
	}
	if p.Env == nil {
		p.Env = []EnvVar{}
	}
	if p.Secrets == nil {
		p.Secrets = []string{}
	}
	if p.Params == nil {
		p.Params = []Param{}
	}
	if p.Inputs == nil {
		p.Inputs = []KeyIO{}
	}
	if p.Outputs == nil {
		p.Outputs = []KeyIO{}
	}
}

// Marshal renders the plan as indented JSON, the form of both `plan -json`
// and saved plan files.
func (p *Plan) Marshal() ([]byte, error) {
	p.Fill()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Commands are full of <, > and &; keep them readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Unmarshal reads a plan written by Marshal, refusing other format
// versions.
func Unmarshal(b []byte) (*Plan, error) {
	var head struct {
		FormatVersion string `json:"format_version"`
		Tool          Tool   `json:"tool"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("not a plan file: %w", err)
	}
	if head.FormatVersion == "" {
		return nil, fmt.Errorf("not a plan file: no format_version")
	}
	if head.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("plan format version %q is not supported by this lattice (it reads version %q); it was written by %s %s",
			head.FormatVersion, FormatVersion, head.Tool.Name, head.Tool.Version)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	p.Fill()
	return &p, nil
}

// Order returns the stages in a deterministic topological order: every
// stage after its deps, ties broken by the order of the input (which the
// compiler makes declared stages by name, then each experiment's trials in
// the order of its space).
func Order(stages []*Stage) ([]*Stage, error) {
	index := make(map[string]int, len(stages))
	indeg := make([]int, len(stages))
	users := make([][]int, len(stages))
	for i, s := range stages {
		index[s.Name] = i
	}
	for i, s := range stages {
		for _, d := range s.Deps {
			j, ok := index[d]
			if !ok {
				return nil, fmt.Errorf("stage %q depends on unknown stage %q", s.Name, d)
			}
			indeg[i]++
			users[j] = append(users[j], i)
		}
	}
	ready := &intHeap{}
	for i := range stages {
		if indeg[i] == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]*Stage, 0, len(stages))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, stages[i])
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(out) != len(stages) {
		return nil, fmt.Errorf("stages form a cycle")
	}
	return out, nil
}

// intHeap is a min-heap of stage indexes.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Lock is the content of a lockfile: the pins of a project's last apply.
type Lock struct {
	// Digest is the digest of the lockfile's bytes; empty when there is no
	// lockfile.
	Digest   string                    `json:"digest"`
	Datasets map[string]*LockedDataset `json:"datasets"`
	Stages   map[string]*LockedStage   `json:"stages"`
	// Images pins image references as written in the spec to the digests
	// they resolved to, so that plans do not ask a registry every time.
	Images map[string]string `json:"images"`
}

// LockedDataset is a dataset's pinned content.
type LockedDataset struct {
	Path   string `json:"path"`
	Digest string `json:"digest"`
}

// LockedStage is a stage's pinned state: its key, the pre-image it was
// computed from (which is what plans diff against), and its outputs'
// digests.
type LockedStage struct {
	Key      string                   `json:"key"`
	Preimage Preimage                 `json:"preimage"`
	Outputs  map[string]*LockedOutput `json:"outputs"`
}

// LockedOutput is an output's path and content digest.
type LockedOutput struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Digest string `json:"digest"`
}

// NewLock returns an empty Lock.
func NewLock() *Lock {
	return &Lock{Datasets: map[string]*LockedDataset{}, Stages: map[string]*LockedStage{}, Images: map[string]string{}}
}

// Verify recomputes each locked stage's key from its pre-image and lists
// the stages whose recorded key does not match, which means the lockfile
// was edited by hand or damaged.
func (l *Lock) Verify() []string {
	var bad []string
	for name, s := range l.Stages {
		k := s.Preimage.Key()
		if k.IsZero() || k.String() != s.Key {
			bad = append(bad, name)
		}
	}
	sort.Strings(bad)
	return bad
}

// PinChanges lists, in words, everything applying the plan would change in
// the lockfile: new, changed and removed stages and datasets. It is what
// `apply --locked` refuses. Inputs that are pending only because an
// unchanged upstream stage re-runs are not changes.
func (p *Plan) PinChanges(lock *Lock) []string {
	var out []string
	for _, d := range p.Datasets {
		ld := lock.Datasets[d.Name]
		switch {
		case ld == nil:
			out = append(out, fmt.Sprintf("dataset %s is not in lattice.lock", d.Name))
		case ld.Digest != d.Digest:
			out = append(out, fmt.Sprintf("dataset %s changed (%s → %s)", d.Name, ld.Digest, d.Digest))
		}
	}
	for _, s := range p.Stages {
		if !s.InLock {
			out = append(out, fmt.Sprintf("stage %s is not in lattice.lock", s.Name))
			continue
		}
		for _, c := range s.Changes {
			if c.New == Pending {
				continue
			}
			out = append(out, fmt.Sprintf("stage %s: %s", s.Name, c))
		}
	}
	for _, r := range p.Removed {
		out = append(out, fmt.Sprintf("stage %s would be removed from lattice.lock", r.Name))
	}
	return out
}
