package workspace

import (
	"errors"
	"fmt"
	"io/fs"

	"lattice.dev/lattice/executor"
	"lattice.dev/lattice/executor/wslock"
	"lattice.dev/lattice/lang"
)

// NoRecordError reports a stage that has no run record in the workspace:
// it never ran or was restored here, or its name is misspelt.
type NoRecordError struct {
	Stage string
	// Suggestion is a recorded stage with a similar name, if any.
	Suggestion string
	// Recorded says whether any stage has a run record at all.
	Recorded bool
}

func (e *NoRecordError) Error() string {
	switch {
	case e.Suggestion != "":
		return fmt.Sprintf("stage %q has no run record in this workspace; did you mean %q?", e.Stage, e.Suggestion)
	case e.Recorded:
		return fmt.Sprintf("stage %q has no run record in this workspace: it has not run here, or is not a stage (lattice plan lists the stages)", e.Stage)
	default:
		return fmt.Sprintf("stage %q has no run record: nothing has run in this workspace yet (run lattice apply)", e.Stage)
	}
}

// Record returns a stage's latest run record, or a *NoRecordError.
func (w *Workspace) Record(stage string) (*executor.Record, error) {
	rec, err := executor.ReadRecord(w.State(), stage)
	if err == nil {
		return rec, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	known, lerr := executor.RecordedStages(w.State())
	if lerr != nil {
		return nil, lerr
	}
	return nil, &NoRecordError{Stage: stage, Suggestion: lang.Suggest(stage, known), Recorded: len(known) > 0}
}

// LogPath is where a stage's latest log is kept.
func (w *Workspace) LogPath(stage string) string { return executor.LogPath(w.State(), stage) }

// ForceUnlock breaks the workspace lock when its holder has the given ID
// and returns who held it.
func (w *Workspace) ForceUnlock(id string) (wslock.Holder, error) {
	return wslock.ForceUnlock(w.State(), id)
}
