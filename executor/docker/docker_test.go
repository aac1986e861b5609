package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"lattice.dev/lattice/executor"
)

func TestContainerConfig(t *testing.T) {
	scratch := t.TempDir()
	input := t.TempDir()
	b, err := New(WithClient(&fakeClient{}), WithLabels(map[string]string{"lattice.run": "r1", StageLabel: "ignored"}))
	if err != nil {
		t.Fatal(err)
	}
	pids := int64(DefaultPidsLimit)
	rbind := &mount.BindOptions{Propagation: mount.PropagationRPrivate}

	tests := []struct {
		name           string
		job            executor.Job
		wantConfig     *container.Config
		wantHostConfig *container.HostConfig
	}{
		{
			name: "sandboxed by default",
			job: executor.Job{
				Stage:   "train",
				Image:   "sha256:abc",
				Argv:    []string{"python3", "train.py"},
				Env:     []string{"SEED=1"},
				Mounts:  []executor.Mount{{Source: input, Target: "data"}},
				Outputs: []string{"out/model.bin"},
				Scratch: scratch,
				UID:     1000,
				GID:     100,
			},
			wantConfig: &container.Config{
				Image:        "sha256:abc",
				Cmd:          []string{"python3", "train.py"},
				Entrypoint:   []string{},
				Env:          []string{"SEED=1"},
				WorkingDir:   "/ws",
				User:         "1000:100",
				Labels:       map[string]string{"lattice.run": "r1", StageLabel: "train"},
				AttachStdout: true,
				AttachStderr: true,
				Hostname:     "lattice",
			},
			wantHostConfig: &container.HostConfig{
				NetworkMode:    "none",
				ReadonlyRootfs: true,
				Tmpfs:          map[string]string{"/tmp": "rw,exec,nosuid,nodev,mode=1777"},
				CapDrop:        []string{"ALL"},
				SecurityOpt:    []string{"no-new-privileges"},
				LogConfig:      container.LogConfig{Type: "none"},
				Mounts: []mount.Mount{
					{Type: mount.TypeBind, Source: input, Target: "/ws/data", ReadOnly: true, BindOptions: rbind},
					{Type: mount.TypeBind, Source: scratch + "/out", Target: "/ws/out", BindOptions: rbind},
				},
				Resources: container.Resources{PidsLimit: &pids},
			},
		},
		{
			name: "network and limits",
			job: executor.Job{
				Stage:       "fetch",
				Image:       "img@sha256:def",
				Argv:        []string{"true"},
				Scratch:     scratch,
				Network:     true,
				CPUs:        1.5,
				MemoryBytes: 256 << 20,
			},
			wantConfig: &container.Config{
				Image:        "img@sha256:def",
				Cmd:          []string{"true"},
				Entrypoint:   []string{},
				WorkingDir:   "/ws",
				User:         "0:0",
				Labels:       map[string]string{"lattice.run": "r1", StageLabel: "fetch"},
				AttachStdout: true,
				AttachStderr: true,
				Hostname:     "lattice",
			},
			wantHostConfig: &container.HostConfig{
				NetworkMode:    "default",
				ReadonlyRootfs: true,
				Tmpfs:          map[string]string{"/tmp": "rw,exec,nosuid,nodev,mode=1777"},
				CapDrop:        []string{"ALL"},
				SecurityOpt:    []string{"no-new-privileges"},
				LogConfig:      container.LogConfig{Type: "none"},
				Mounts:         []mount.Mount{},
				Resources: container.Resources{
					NanoCPUs:   1_500_000_000,
					Memory:     256 << 20,
					MemorySwap: 256 << 20,
					PidsLimit:  &pids,
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := planLayout(&tt.job)
			if err != nil {
				t.Fatal(err)
			}
			gotConfig, gotHostConfig := b.containerConfig(&tt.job, l)
			if diff := cmp.Diff(tt.wantConfig, gotConfig); diff != "" {
				t.Errorf("container config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantHostConfig, gotHostConfig); diff != "" {
				t.Errorf("host config (-want +got):\n%s", diff)
			}
			// The engine keeps the image's entrypoint for a nil one.
			if gotConfig.Entrypoint == nil {
				t.Error("Entrypoint is nil, want empty")
			}
		})
	}
}

func TestRunWithFakeEngine(t *testing.T) {
	tests := []struct {
		name    string
		fake    *fakeClient
		timeout time.Duration
		cancel  bool // cancel Run's context once the container runs
		want    *executor.Result
		wantErr string
		wantLog string
		// wantCalls are the engine calls made, in order, ignoring the
		// attach and wait that happen between create and start.
		wantCalls []string
	}{
		{
			name:      "exit code and logs",
			fake:      &fakeClient{stdout: "out\n", stderr: "err\n", exitCode: 3, exitAfter: time.Millisecond},
			want:      &executor.Result{ExitCode: 3},
			wantLog:   "out\nerr\n",
			wantCalls: []string{"create", "start", "remove"},
		},
		{
			name:      "missing image",
			fake:      &fakeClient{createErr: cerrdefs.ErrNotFound.WithMessage("No such image: sha256:0")},
			wantErr:   `creating container for stage "s": image sha256:0 is not present in the local Docker engine; build or pull it first`,
			wantCalls: []string{"create"},
		},
		{
			name:      "engine down",
			fake:      &fakeClient{createErr: errors.New("Cannot connect to the Docker daemon")},
			wantErr:   `creating container for stage "s": Cannot connect to the Docker daemon`,
			wantCalls: []string{"create"},
		},
		{
			name:      "start fails",
			fake:      &fakeClient{startErr: errors.New(`exec: "nope": executable file not found in $PATH`)},
			wantErr:   `starting container for stage "s": exec: "nope"`,
			wantCalls: []string{"create", "start", "remove"},
		},
		{
			name:      "timeout kills",
			fake:      &fakeClient{exitAfter: time.Hour},
			timeout:   50 * time.Millisecond,
			want:      &executor.Result{ExitCode: 137, TimedOut: true},
			wantCalls: []string{"create", "start", "kill KILL", "remove"},
		},
		{
			name:      "cancel removes",
			fake:      &fakeClient{exitAfter: time.Hour},
			cancel:    true,
			wantErr:   context.Canceled.Error(),
			wantCalls: []string{"create", "start", "remove"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := tt.fake
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := []Option{WithClient(fake)}
			if tt.cancel {
				opts = append(opts, WithAfterStart(func(context.Context, string) { cancel() }))
			}
			b, err := New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			got, err := b.Run(ctx, &executor.Job{
				Stage:   "s",
				Image:   "sha256:0",
				Argv:    []string{"true"},
				Scratch: t.TempDir(),
				Timeout: tt.timeout,
				Log:     &log,
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run() error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Run() error = %v", err)
			}
			if got != nil {
				got.Duration = 0
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Run() result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLog, log.String()); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, fake.callList()); diff != "" {
				t.Errorf("engine calls (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeClient is an engine with one container that writes stdout and stderr
// once started, then exits with exitCode after exitAfter, or with 137 as
// soon as it is killed or removed.
type fakeClient struct {
	stdout, stderr string
	exitCode       int64
	exitAfter      time.Duration
	createErr      error
	startErr       error

	mu      sync.Mutex
	calls   []string
	once    sync.Once
	killed  chan struct{}
	server  net.Conn
	waiting chan container.WaitResponse
}

func (f *fakeClient) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeClient) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var calls []string
	for _, c := range f.calls {
		if c != "attach" && c != "wait" {
			calls = append(calls, c)
		}
	}
	return calls
}

func (f *fakeClient) kill() { f.once.Do(func() { close(f.killed) }) }

func (f *fakeClient) ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error) {
	f.record("create")
	if f.createErr != nil {
		return container.CreateResponse{}, f.createErr
	}
	f.killed = make(chan struct{})
	f.waiting = make(chan container.WaitResponse, 1)
	return container.CreateResponse{ID: "c0ffee"}, nil
}

func (f *fakeClient) ContainerAttach(ctx context.Context, id string, options container.AttachOptions) (types.HijackedResponse, error) {
	f.record("attach")
	server, conn := net.Pipe()
	f.server = server
	return types.NewHijackedResponse(conn, ""), nil
}

func (f *fakeClient) ContainerWait(ctx context.Context, id string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	f.record("wait")
	if condition != container.WaitConditionNextExit {
		panic(fmt.Sprintf("wait condition %q", condition))
	}
	resultC := make(chan container.WaitResponse)
	errC := make(chan error, 1)
	go func() {
		select {
		case w := <-f.waiting:
			select {
			case resultC <- w:
			case <-ctx.Done():
				errC <- ctx.Err()
			}
		case <-ctx.Done():
			errC <- ctx.Err()
		}
	}()
	return resultC, errC
}

func (f *fakeClient) ContainerStart(ctx context.Context, id string, options container.StartOptions) error {
	f.record("start")
	if f.startErr != nil {
		f.server.Close()
		return f.startErr
	}
	go func() {
		stdcopy.NewStdWriter(f.server, stdcopy.Stdout).Write([]byte(f.stdout))
		stdcopy.NewStdWriter(f.server, stdcopy.Stderr).Write([]byte(f.stderr))
		code := f.exitCode
		select {
		case <-time.After(f.exitAfter):
		case <-f.killed:
			code = 137
		}
		f.server.Close()
		f.waiting <- container.WaitResponse{StatusCode: code}
	}()
	return nil
}

func (f *fakeClient) ContainerKill(ctx context.Context, id, signal string) error {
	f.record("kill " + signal)
	f.kill()
	return nil
}

func (f *fakeClient) ContainerRemove(ctx context.Context, id string, options container.RemoveOptions) error {
	f.record("remove")
	if !options.Force {
		return errors.New("remove without force")
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.kill()
	return nil
}
