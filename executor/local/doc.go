// Package local is the executor backend that runs each job as a process on
// the host, in the job's scratch directory. It exists for fast iteration on
// a laptop: no image to build, no container to start.
//
// It is NOT hermetic, and results from it are only as reproducible as the
// host is. In particular:
//
//   - The job runs as the invoking user; Job.UID and Job.GID are ignored.
//   - Job.Network is ignored: the job has whatever network the host has.
//   - Job.CPUs and Job.MemoryBytes are ignored: there are no limits.
//   - Job.Image is ignored: the job sees the host's file system, programs
//     and libraries.
//   - Inputs are symbolic links to their sources, so a job can read
//     anything on the host, and can modify its inputs by writing through
//     the links. Programs that refuse to follow symbolic links, or that
//     report paths after resolving them, see the host paths.
//
// What it does keep from the sandbox of the docker backend:
//
//   - The environment is exactly Job.Env; nothing is inherited. Argv[0] is
//     looked up on the PATH that Job.Env sets, not on the invoking
//     process's PATH.
//   - The working directory is Job.Scratch, laid out like the container's
//     /ws: each input at its workspace-relative target and the directory of
//     each output created, so the same relative paths work on both
//     backends. An input directory that other inputs or outputs lie inside
//     is recreated as a real directory of links to its entries (a symlink
//     forest), so nothing the job writes lands in the input's source.
//   - The job runs in its own process group. When it exits, the rest of the
//     group is killed, as a container's processes die with it. A timeout or
//     a cancelled context sends SIGTERM to the group, then SIGKILL after a
//     grace period. As with docker, an exit by signal is reported as exit
//     code 128+signal (137 for SIGKILL).
//
// # Invariants
//
//   - Run returns only once the job's process has been reaped and its
//     output copied to Job.Log; nothing writes to Job.Log afterwards.
//   - Run never creates, changes or removes anything outside Job.Scratch.
package local
