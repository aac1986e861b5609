// Package docker is the executor backend that runs each job in a container
// on a Docker Engine, through the Engine API (github.com/docker/docker/client,
// with API version negotiation so that engines back to API 1.41 work).
//
// It owns the life of one container per job: create, attach, start, wait,
// and remove. It does not own images: a job names its image by ID or digest,
// and a missing image is an error telling the user to build or pull it. The
// backend never pulls, because what a stage runs must be exactly what the
// plan pinned.
//
// # Sandbox
//
// Every container runs with
//
//   - no network (NetworkMode "none") unless the job asks for it;
//   - a read-only root file system, with a private writable tmpfs at /tmp
//     (mode 1777, exec allowed because JIT compilers load code from there);
//   - every capability dropped, no-new-privileges, and a pids limit;
//   - the job's UID:GID as its user, so outputs belong to that user;
//   - the job's CPU and memory limits, with swap equal to memory (none);
//   - executor.ContainerRoot (/ws) as its working directory.
//
// Inputs are bind-mounted read-only at /ws/<target>. For each output path P
// the host directory Scratch/dir(P) is created, owned by the job's user, and
// bind-mounted read-write at /ws/dir(P); after the run, output P is at
// Scratch/P. Output directories nested in another output directory are
// covered by their ancestor's mount, and an output at the top level makes
// all of /ws the writable Scratch directory. Everything else under /ws is
// read-only.
//
// # Invariants
//
//   - Containers are always removed before Run returns, whether the job
//     exited, timed out, failed to start, or Run's context was cancelled.
//     Removal uses a fresh context with its own deadline, so cancellation
//     cannot leak a container. Each container carries the label
//     lattice.stage=<stage name> so that leftovers of a crashed process can
//     still be found and removed.
//   - Mounts are given to the engine parents first, so a mount nested in
//     another (an input file inside an output directory) lands on top of it.
//     Mount points that the nested mount needs inside Scratch are created by
//     the backend, owned by the job's user, and removed after the run when
//     they are still empty, so Scratch holds only what the job wrote.
//   - Run makes no engine call it can avoid: it does not inspect the image
//     (creating the container fails clearly when the image is missing), it
//     streams logs through the attach connection rather than through a log
//     driver (the container's log driver is "none", so nothing is written
//     to the engine's disk), and it registers the wait for exit before
//     starting the container so the exit cannot be missed.
package docker
