// Package executor runs the stages of a plan. It owns the Backend
// interface, through which a stage that missed the cache is run, and the Job
// that describes one such run with every path already resolved on the host.
// Backends live in their own packages: executor/docker (a sandboxed
// container, the default) and executor/local (a host process, for fast
// iteration, not hermetic).
//
// # What every backend guarantees
//
//   - A job sees its inputs and writes its outputs at their
//     workspace-relative paths, from a working directory that stands for the
//     workspace root (ContainerRoot in a container, the job's Scratch
//     directory on the host). Host paths appear neither in the command nor,
//     therefore, in any cache key.
//   - The environment is exactly Job.Env; nothing leaks in from the process
//     that runs the executor.
//   - After Run returns, output P is at Scratch/P. Run does not check that
//     the outputs exist; the caller does, before caching anything.
//   - The job's exit status is a Result, not an error: an error means the
//     backend could not run the job at all (engine unreachable, image
//     missing, command not found), so retrying the job unchanged is
//     pointless until the environment is fixed.
//   - A job past its Timeout is killed and reported with Result.TimedOut.
//     When Run's context is cancelled, Run stops the job, cleans up after it
//     (no container, no process left running) and returns the context's
//     error.
//   - Nothing writes to Job.Log after Run returns.
package executor
