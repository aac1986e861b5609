package docker

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"lattice.dev/lattice/executor"
)

// StageLabel is the label that carries a container's stage name. Every
// container the backend creates has it, so leftovers (from a process that
// was killed before it could clean up) can be listed with
// `docker ps -a --filter label=lattice.stage`.
const StageLabel = "lattice.stage"

// Defaults for the options.
const (
	DefaultPidsLimit      = 4096
	DefaultCleanupTimeout = 30 * time.Second
)

// Client is the part of the Docker Engine API client that the backend uses.
// *client.Client implements it; tests substitute their own.
type Client interface {
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerAttach(ctx context.Context, container string, options container.AttachOptions) (types.HijackedResponse, error)
	ContainerWait(ctx context.Context, container string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStart(ctx context.Context, container string, options container.StartOptions) error
	ContainerKill(ctx context.Context, container, signal string) error
	ContainerRemove(ctx context.Context, container string, options container.RemoveOptions) error
}

var _ Client = (*client.Client)(nil)

// Backend runs jobs in containers on a Docker Engine. It is safe for
// concurrent use; each Run has its own container.
type Backend struct {
	client Client
	// closer closes the client when the backend made it.
	closer         io.Closer
	pidsLimit      int64
	labels         map[string]string
	cleanupTimeout time.Duration
	afterStart     func(ctx context.Context, containerID string)
}

var _ executor.Backend = (*Backend)(nil)

// Option configures a Backend.
type Option func(*options)

type options struct {
	client         Client
	pidsLimit      int64
	labels         map[string]string
	cleanupTimeout time.Duration
	afterStart     func(ctx context.Context, containerID string)
}

// WithClient makes the backend use c instead of a client configured from
// the environment (DOCKER_HOST, DOCKER_CERT_PATH, …). The caller keeps
// ownership of c: Close does not close it.
func WithClient(c Client) Option {
	return func(o *options) { o.client = c }
}

// WithPidsLimit sets the most processes and threads a job may have at
// once; n <= 0 means no limit. The default is DefaultPidsLimit, which stops
// a fork bomb without getting in the way of thread pools.
func WithPidsLimit(n int64) Option {
	return func(o *options) { o.pidsLimit = n }
}

// WithLabels adds labels to every container, besides StageLabel (which
// they cannot override), for example to tie containers to one apply.
func WithLabels(labels map[string]string) Option {
	return func(o *options) {
		if o.labels == nil {
			o.labels = make(map[string]string, len(labels))
		}
		for k, v := range labels {
			o.labels[k] = v
		}
	}
}

// WithCleanupTimeout bounds how long removing a container may take once a
// job is over. The default is DefaultCleanupTimeout.
func WithCleanupTimeout(d time.Duration) Option {
	return func(o *options) { o.cleanupTimeout = d }
}

// New returns a backend. Unless WithClient is given, it connects to the
// engine that the environment names (as the docker CLI does) and negotiates
// the API version on first use; New itself does no I/O, so an unreachable
// engine is reported by the first Run.
func New(opts ...Option) (*Backend, error) {
	o := options{
		pidsLimit:      DefaultPidsLimit,
		cleanupTimeout: DefaultCleanupTimeout,
	}
	for _, opt := range opts {
		opt(&o)
	}
	b := &Backend{
		client:         o.client,
		pidsLimit:      o.pidsLimit,
		labels:         o.labels,
		cleanupTimeout: o.cleanupTimeout,
		afterStart:     o.afterStart,
	}
	if b.client == nil {
		c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("configuring Docker client: %w", err)
		}
		b.client, b.closer = c, c
	}
	return b, nil
}

// Name returns "docker".
func (b *Backend) Name() string { return "docker" }

// Close releases the backend's connection to the engine, if New made it.
func (b *Backend) Close() error {
	if b.closer == nil {
		return nil
	}
	return b.closer.Close()
}

// Run runs job in a new container and removes the container afterwards. See
// the package documentation for the sandbox it runs in.
func (b *Backend) Run(ctx context.Context, job *executor.Job) (res *executor.Result, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if job.Image == "" {
		return nil, fmt.Errorf("stage %q has no image", job.Stage)
	}
	if len(job.Argv) == 0 {
		return nil, fmt.Errorf("stage %q has no command", job.Stage)
	}
	l, err := planLayout(job)
	if err != nil {
		return nil, fmt.Errorf("laying out files for stage %q: %w", job.Stage, err)
	}
	unstub, err := l.prepare(job.UID, job.GID)
	defer unstub()
	if err != nil {
		return nil, fmt.Errorf("preparing scratch directory for stage %q: %w", job.Stage, err)
	}

	config, hostConfig := b.containerConfig(job, l)
	// Creating is not cancellable: were the request abandoned halfway, the
	// engine might create a container that nobody knows the ID of, so it
	// would never be removed. Creating is quick; cancellation is honoured
	// right after.
	created, err := b.client.ContainerCreate(context.WithoutCancel(ctx), config, hostConfig, nil, nil, "")
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("creating container for stage %q: image %s is not present in the local Docker engine; build or pull it first", job.Stage, job.Image)
		}
		return nil, fmt.Errorf("creating container for stage %q: %w", job.Stage, err)
	}
	id := created.ID
	defer func() {
		if rmErr := b.remove(ctx, id); rmErr != nil && err == nil {
			err = fmt.Errorf("removing container %s of stage %q: %w", shortID(id), job.Stage, rmErr)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.run(ctx, job, id)
}

// run attaches to, starts and waits for the created container id. The
// caller removes the container.
func (b *Backend) run(ctx context.Context, job *executor.Job, id string) (*executor.Result, error) {
	// The attach connection carries the job's output as it runs. It must
	// be open before the container starts, or early output is lost.
	hijack, err := b.client.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, b.callError(ctx, "attaching to container", job, err)
	}
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		w := job.Log
		if w == nil {
			w = io.Discard
		}
		// A copy error means the connection broke or was closed by the
		// deferred Close below; either way the exit code still comes from
		// the wait, so the error has nothing to add.
		stdcopy.StdCopy(w, w, hijack.Reader)
	}()
	// Closing the connection ends the copy; waiting for it guarantees that
	// nothing writes to job.Log after Run returns.
	defer func() {
		hijack.Close()
		<-logDone
	}()

	// The wait is registered before the start so that the exit cannot
	// happen before anyone listens for it. It has a context of its own: on
	// cancellation Run stops listening itself, after dealing with the
	// container.
	waitCtx, stopWaiting := context.WithCancel(context.WithoutCancel(ctx))
	waitC, waitErrC := b.client.ContainerWait(waitCtx, id, container.WaitConditionNextExit)
	waited := false
	defer func() {
		stopWaiting()
		if !waited {
			// The client delivers the result on an unbuffered channel;
			// take it so that its goroutine can end.
			go func() {
				select {
				case <-waitC:
				case <-waitErrC:
				}
			}()
		}
	}()

	start := time.Now()
	if err := b.client.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return nil, b.callError(ctx, "starting container", job, err)
	}
	if b.afterStart != nil {
		b.afterStart(ctx, id)
	}

	var timeout <-chan time.Time
	if job.Timeout > 0 {
		t := time.NewTimer(job.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	res := &executor.Result{}
	for {
		select {
		case w := <-waitC:
			waited = true
			res.Duration = time.Since(start)
			if w.Error != nil && w.Error.Message != "" {
				return nil, fmt.Errorf("waiting for container of stage %q: %s", job.Stage, w.Error.Message)
			}
			res.ExitCode = int(w.StatusCode)
			// The engine closes the attach stream once the output is all
			// sent; wait for that so the log is complete.
			select {
			case <-logDone:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return res, nil
		case err := <-waitErrC:
			waited = true
			return nil, b.callError(ctx, "waiting for container", job, err)
		case <-timeout:
			timeout = nil
			// The wait above reports the exit code the kill causes. A kill
			// that finds the container already stopped means the job
			// finished just in time.
			kctx, cancel := b.cleanupContext(ctx)
			err := b.client.ContainerKill(kctx, id, "KILL")
			cancel()
			switch {
			case err == nil:
				res.TimedOut = true
			case cerrdefs.IsConflict(err) || cerrdefs.IsNotFound(err):
			default:
				return nil, fmt.Errorf("killing container of stage %q after its %s timeout: %w", job.Stage, job.Timeout, err)
			}
		case <-ctx.Done():
			// Removing the container (deferred in Run) kills it.
			return nil, ctx.Err()
		}
	}
}

// containerConfig is the configuration of a job's container.
func (b *Backend) containerConfig(job *executor.Job, l *layout) (*container.Config, *container.HostConfig) {
	labels := make(map[string]string, len(b.labels)+1)
	for k, v := range b.labels {
		labels[k] = v
	}
	labels[StageLabel] = job.Stage

	config := &container.Config{
		Image: job.Image,
		Cmd:   job.Argv,
		// An empty, non-nil entrypoint replaces the image's, so that Argv
		// is the whole command, as in every other backend.
		Entrypoint:   []string{},
		Env:          job.Env,
		WorkingDir:   executor.ContainerRoot,
		User:         strconv.Itoa(job.UID) + ":" + strconv.Itoa(job.GID),
		Labels:       labels,
		AttachStdout: true,
		AttachStderr: true,
		// A fixed host name keeps the container ID out of anything the
		// job records about its environment.
		Hostname: "lattice",
	}

	mounts := make([]mount.Mount, 0, len(l.binds))
	for _, bd := range l.binds {
		mounts = append(mounts, mount.Mount{
			Type:        mount.TypeBind,
			Source:      bd.source,
			Target:      bd.target,
			ReadOnly:    bd.readOnly,
			BindOptions: &mount.BindOptions{Propagation: mount.PropagationRPrivate},
		})
	}

	networkMode := container.NetworkMode("none")
	if job.Network {
		networkMode = "default"
	}
	var pids *int64
	if b.pidsLimit > 0 {
		n := b.pidsLimit
		pids = &n
	}
	hostConfig := &container.HostConfig{
		NetworkMode:    networkMode,
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": "rw,exec,nosuid,nodev,mode=1777"},
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Mounts:         mounts,
		// Output reaches job.Log through the attach connection; a log
		// driver would only write a second copy to the engine's disk.
		LogConfig: container.LogConfig{Type: "none"},
		Resources: container.Resources{
			NanoCPUs:  int64(job.CPUs * 1e9),
			Memory:    job.MemoryBytes,
			PidsLimit: pids,
		},
	}
	if job.MemoryBytes > 0 {
		// Swap equal to memory means no swap: a job over its limit is
		// killed instead of slowing the whole machine down.
		hostConfig.MemorySwap = job.MemoryBytes
	}
	return config, hostConfig
}

// remove removes the container, killing it first if it still runs. It uses
// a fresh context because it must happen even when ctx was cancelled.
func (b *Backend) remove(ctx context.Context, id string) error {
	rctx, cancel := b.cleanupContext(ctx)
	defer cancel()
	err := b.client.ContainerRemove(rctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}

func (b *Backend) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), b.cleanupTimeout)
}

// callError wraps the error of an engine call. A call that failed while ctx
// was cancelled most likely failed because of it, and Run promises to report
// the cancellation itself.
func (b *Backend) callError(ctx context.Context, what string, job *executor.Job, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("%s for stage %q: %w", what, job.Stage, err)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
