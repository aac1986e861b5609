package executor

import (
	"encoding/json"
	"time"
)

// Event types, one per line in `lattice apply -json`.
const (
	EventApplyStarted  = "apply_started"
	EventStageStarted  = "stage_started"
	EventStageRetrying = "stage_retrying"
	EventStageLog      = "stage_log"
	EventStageFinished = "stage_finished"
	EventStageRestored = "stage_restored"
	EventStageUpToDate = "stage_up_to_date"
	EventStageFailed   = "stage_failed"
	EventStageSkipped  = "stage_skipped"
	EventApplyFinished = "apply_finished"
)

// Event is one step of an apply, for progress displays and the JSON event
// stream.
type Event struct {
	Type     string        `json:"type"`
	Time     time.Time     `json:"time"`
	Stage    string        `json:"stage,omitempty"`
	Key      string        `json:"key,omitempty"`
	Attempt  int           `json:"attempt,omitempty"`
	Duration time.Duration `json:"-"`
	Reason   string        `json:"reason,omitempty"`
	Error    string        `json:"error,omitempty"`
	ExitCode int           `json:"exit_code,omitempty"`
	// Line is the latest line of a running stage's log.
	Line string `json:"line,omitempty"`
	// LogTail is the end of a failed stage's log.
	LogTail []string `json:"log_tail,omitempty"`
	// Stages is the number of stages an apply will visit.
	Stages int `json:"stages,omitempty"`
	// Counts summarises a finished apply.
	Counts *Counts `json:"counts,omitempty"`
	// Deterministic reports, under reproduce, whether a stage's outputs
	// matched the lockfile.
	Deterministic *bool `json:"deterministic,omitempty"`
}

// Counts are the outcomes of an apply.
type Counts struct {
	Ran      int `json:"ran"`
	Restored int `json:"restored"`
	UpToDate int `json:"up_to_date"`
	Failed   int `json:"failed"`
	Skipped  int `json:"skipped"`
}

// MarshalJSON adds the duration in seconds, which is friendlier to
// consumers than nanoseconds, and the event format version.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	out := struct {
		FormatVersion string `json:"format_version"`
		plain
		Seconds float64 `json:"duration_s,omitempty"`
	}{"1", plain(e), e.Duration.Seconds()}
	return json.Marshal(out)
}
