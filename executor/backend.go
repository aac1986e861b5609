package executor

import (
	"context"
	"io"
	"time"
)

// ContainerRoot is where the docker backend places the project inside a
// container: inputs, code and outputs appear at their project-relative
// paths under it, and it is the working directory. Keeping it fixed keeps
// host paths out of every command and cache key.
const ContainerRoot = "/ws"

// Backend runs one job: a command over declared inputs that must leave its
// declared outputs under Job.Scratch. Implementations live in their own
// packages (executor/docker, executor/local).
type Backend interface {
	// Name is the backend's name as written in specs ("docker", "local").
	Name() string
	// Run runs the job to completion. A non-zero exit is reported in the
	// Result, not as an error; errors mean the backend itself failed
	// (engine unreachable, image missing). When ctx is cancelled, Run stops
	// the job, cleans up after it and returns ctx's error.
	Run(ctx context.Context, job *Job) (*Result, error)
}

// Job is one run of a stage, with everything already resolved to host paths.
type Job struct {
	// Stage is the stage's name, for labels and messages.
	Stage string
	// Image is the image to run, by digest or image ID (docker only).
	Image string
	// Argv is the command; Argv[0] is looked up on the PATH.
	Argv []string
	// Env is the complete environment, as KEY=VALUE; nothing is inherited.
	Env []string
	// Mounts are the read-only inputs and code, each placed at its
	// project-relative Target.
	Mounts []Mount
	// Outputs are the project-relative paths the job must write. They are
	// the only writable places besides a private temporary directory.
	Outputs []string
	// Scratch is an empty host directory owned by the executor. After Run,
	// each output is found at Scratch/<output path>.
	Scratch string
	// Network allows network access. When false the job has none.
	Network bool
	// CPUs and MemoryBytes limit the job; zero means no limit.
	CPUs        float64
	MemoryBytes int64
	// Timeout bounds the run; zero means none. A job past its timeout is
	// killed and reported with Result.TimedOut.
	Timeout time.Duration
	// UID and GID run the job as this user, so outputs belong to them.
	UID, GID int
	// Log receives the job's combined stdout and stderr as it runs.
	Log io.Writer
}

// Mount places a host file or directory at a project-relative path,
// read-only.
type Mount struct {
	Source string
	Target string
}

// Result is how a job ended.
type Result struct {
	ExitCode int
	TimedOut bool
	Duration time.Duration
}
