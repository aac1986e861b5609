package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// Record is what the last run (or restore) of a stage left behind, in
// .lattice/runs/STAGE/record.json next to its log.
type Record struct {
	FormatVersion string             `json:"format_version"`
	Stage         string             `json:"stage"`
	Run           string             `json:"run"`
	Outcome       string             `json:"outcome"`
	Key           string             `json:"key"`
	Finished      time.Time          `json:"finished"`
	DurationS     float64            `json:"duration_s"`
	Attempts      int                `json:"attempts"`
	ExitCode      int                `json:"exit_code"`
	Error         string             `json:"error,omitempty"`
	LogTail       []string           `json:"log_tail,omitempty"`
	Outputs       map[string]string  `json:"outputs"`
	Metrics       map[string]float64 `json:"metrics,omitempty"`
	Log           string             `json:"log,omitempty"`
}

// RunDir is the directory holding a stage's run record and log. Stage
// names of experiment trials hold characters such as '[' and '=', which
// are escaped.
func RunDir(stateDir, stage string) string {
	return filepath.Join(stateDir, "runs", url.PathEscape(stage))
}

// logPath is where this executor writes a stage's log: the latest run's
// "log", or under reproduce a "reproduce.log" of its own, so that
// reproducing changes nothing that apply recorded.
func (e *Executor) logPath(stage string) string {
	name := "log"
	if e.reproduce {
		name = "reproduce.log"
	}
	return filepath.Join(RunDir(e.state, stage), name)
}

// openLog opens a stage's log for an attempt. The log holds the latest run:
// the first attempt starts it afresh, and retries follow in the same file.
func (e *Executor) openLog(stage string, attempt int) (*os.File, error) {
	dir := RunDir(e.state, stage)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the run record directory: %w", err)
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if attempt <= 1 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(e.logPath(stage), flags, 0o644)
	if err == nil && attempt > 1 {
		fmt.Fprintf(f, "--- attempt %d ---\n", attempt)
	}
	return f, err
}

// writeRecord writes a stage's run record atomically.
func (e *Executor) writeRecord(s *plan.Stage, res *StageResult, runID string) error {
	rec := Record{
		FormatVersion: "1", Stage: s.Name, Run: runID, Outcome: res.Outcome, Key: res.Key,
		Finished: e.now().UTC(), DurationS: res.Duration.Seconds(), Attempts: res.Attempts,
		ExitCode: res.ExitCode, Error: res.Error, LogTail: res.LogTail, Outputs: res.Outputs, Metrics: res.Metrics,
	}
	if rec.Outcome == "" {
		rec.Outcome = Failed
	}
	if rec.Outputs == nil {
		rec.Outputs = map[string]string{}
	}
	if _, err := os.Stat(e.logPath(s.Name)); err == nil {
		rec.Log = e.logPath(s.Name)
	}
	dir := RunDir(e.state, s.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return digest.WriteFileAtomic(filepath.Join(dir, "record.json"), append(b, '\n'), 0o644)
}

// ReadRecord reads a stage's last run record.
func ReadRecord(stateDir, stage string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(RunDir(stateDir, stage), "record.json"))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("reading the run record of stage %q: %w", stage, err)
	}
	return &r, nil
}

// LogPath is where a stage's latest log is.
func LogPath(stateDir, stage string) string { return filepath.Join(RunDir(stateDir, stage), "log") }

// RecordedStages lists, sorted, the stages that have a run record in the
// state directory, so that a command asked about an unknown stage can
// suggest a known one. A workspace that never ran anything has none.
func RecordedStages(stateDir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(stateDir, "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing run records: %w", err)
	}
	names := []string{}
	for _, e := range ents {
		name, err := url.PathUnescape(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(stateDir, "runs", e.Name(), "record.json")); err == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// readMetrics reads a stage's metrics outputs from the workspace.
func (e *Executor) readMetrics(s *plan.Stage) map[string]float64 {
	var out map[string]float64
	for _, o := range s.Outputs {
		if o.Kind != "metrics" {
			continue
		}
		m, err := ReadMetrics(e.workspacePath(o.Path))
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]float64{}
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// ReadMetrics reads a metrics file: a JSON object whose numbers, at any
// depth, are metrics named by their dotted path ("auc", "test.auc").
// Other values are ignored. A directory is read as every *.json file in
// it.
func ReadMetrics(path string) (map[string]float64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	files := []string{path}
	if st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.json"))
		sort.Strings(files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("metrics file %s is not JSON: %w", f, err)
		}
		flatten("", v, out)
	}
	return out, nil
}

func flatten(prefix string, v any, out map[string]float64) {
	switch x := v.(type) {
	case float64:
		if prefix != "" {
			out[prefix] = x
		}
	case map[string]any:
		for k, c := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, c, out)
		}
	}
}
