package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lattice.dev/lattice/executor/jobtest"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/executor"
)

func TestPlanLayout(t *testing.T) {
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "a.csv"), "a")
	mustWrite(t, filepath.Join(src, "code", "main.py"), "print()")
	mustWrite(t, filepath.Join(src, "code", "data.csv"), "1,2")
	must(t, os.MkdirAll(filepath.Join(src, "code", "out"), 0o755))
	file := filepath.Join(src, "a.csv")
	code := filepath.Join(src, "code")
	const scratch = "/scratch"

	type mnt struct {
		Source, Target string
		ReadOnly       bool
	}
	tests := []struct {
		name    string
		mounts  []executor.Mount
		outputs []string
		want    []mnt
		stubs   []string
		wantErr string
	}{
		{
			name:    "output in a directory",
			outputs: []string{"out/b.csv"},
			want:    []mnt{{"/scratch/out", "/ws/out", false}},
		},
		{
			name:    "output at the top level makes scratch the workspace",
			outputs: []string{"metrics.json"},
			want:    []mnt{{"/scratch", "/ws", false}},
		},
		{
			name:    "outputs deduplicated and nested ones dropped",
			outputs: []string{"out/a", "out/b", "out/sub/c", "x/y/z", "x/y/w"},
			want: []mnt{
				{"/scratch/out", "/ws/out", false},
				{"/scratch/x/y", "/ws/x/y", false},
			},
		},
		{
			name:    "top-level output covers all others",
			outputs: []string{"out/a", "m.json"},
			want:    []mnt{{"/scratch", "/ws", false}},
		},
		{
			name:    "paths are cleaned",
			outputs: []string{"./out//b.csv"},
			mounts:  []executor.Mount{{Source: file, Target: "data/./a.csv"}},
			want: []mnt{
				{"/scratch/out", "/ws/out", false},
				{file, "/ws/data/a.csv", true},
			},
		},
		{
			name:    "input inside an output directory gets a mount point in scratch",
			outputs: []string{"out/b.csv"},
			mounts:  []executor.Mount{{Source: file, Target: "out/in/a.csv"}},
			want: []mnt{
				{"/scratch/out", "/ws/out", false},
				{file, "/ws/out/in/a.csv", true},
			},
			stubs: []string{"/scratch/out/in/a.csv"},
		},
		{
			name:    "parents before children whatever the order given",
			outputs: []string{"m.json"},
			mounts: []executor.Mount{
				{Source: file, Target: "src/data.csv"},
				{Source: code, Target: "src"},
			},
			want: []mnt{
				{"/scratch", "/ws", false},
				{code, "/ws/src", true},
				{file, "/ws/src/data.csv", true},
			},
			// src is a mount point in scratch; src/data.csv exists in code.
			stubs: []string{"/scratch/src"},
		},
		{
			name:    "output directory inside an input that has it",
			mounts:  []executor.Mount{{Source: code, Target: "."}},
			outputs: []string{"out/model.bin"},
			want: []mnt{
				{code, "/ws", true},
				{"/scratch/out", "/ws/out", false},
			},
		},
		{
			name:    "output directory inside an input that lacks it",
			mounts:  []executor.Mount{{Source: code, Target: "."}},
			outputs: []string{"results/model.bin"},
			wantErr: `cannot mount "results" inside read-only input ".": it has no directory at "results"`,
		},
		{
			name:    "mount inside an input file",
			mounts:  []executor.Mount{{Source: file, Target: "a"}, {Source: file, Target: "a/b"}},
			wantErr: `cannot mount "a/b" inside input file "a"`,
		},
		{
			name:    "input is an output",
			mounts:  []executor.Mount{{Source: file, Target: "out/b.csv"}},
			outputs: []string{"out/b.csv"},
			wantErr: `input "out/b.csv" overlaps output "out/b.csv"`,
		},
		{
			name:    "input inside an output",
			mounts:  []executor.Mount{{Source: file, Target: "model/base.bin"}},
			outputs: []string{"model"},
			wantErr: `input "model/base.bin" overlaps output "model"`,
		},
		{
			name:    "two inputs at one place",
			mounts:  []executor.Mount{{Source: file, Target: "a"}, {Source: code, Target: "./a"}},
			wantErr: `two inputs at "a"`,
		},
		{
			name:    "input at an output directory",
			mounts:  []executor.Mount{{Source: code, Target: "data"}},
			outputs: []string{"data/clean.csv"},
			wantErr: `input "data" is also the directory of an output`,
		},
		{
			name:    "input file missing inside an input directory",
			mounts:  []executor.Mount{{Source: code, Target: "src"}, {Source: file, Target: "src/a.csv"}},
			wantErr: `cannot mount "src/a.csv" inside read-only input "src": it has no file at "a.csv"`,
		},
		{name: "absolute output", outputs: []string{"/etc/passwd"}, wantErr: "must be relative"},
		{name: "escaping output", outputs: []string{"out/../../x"}, wantErr: "leaves the workspace"},
		{name: "root output", outputs: []string{"."}, wantErr: "cannot be an output"},
		{name: "empty output", outputs: []string{""}, wantErr: "empty path"},
		{
			name:    "relative source",
			mounts:  []executor.Mount{{Source: "a.csv", Target: "a.csv"}},
			wantErr: "not an absolute path",
		},
		{
			name:    "missing source",
			mounts:  []executor.Mount{{Source: filepath.Join(src, "nope"), Target: "a.csv"}},
			wantErr: "no such file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := planLayout(&executor.Job{Scratch: scratch, Mounts: tt.mounts, Outputs: tt.outputs})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("planLayout() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("planLayout() error = %v", err)
			}
			var got []mnt
			for _, b := range l.binds {
				got = append(got, mnt{b.source, b.target, b.readOnly})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("binds (-want +got):\n%s", diff)
			}
			var stubs []string
			for _, s := range l.stubs {
				stubs = append(stubs, s.path)
			}
			if diff := cmp.Diff(tt.stubs, stubs); diff != "" {
				t.Errorf("mount points (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrepareCreatesAndRemovesMountPoints(t *testing.T) {
	src := t.TempDir()
	input := filepath.Join(src, "a.csv")
	mustWrite(t, input, "a")
	scratch := t.TempDir()
	job := &executor.Job{
		Scratch: scratch,
		Mounts:  []executor.Mount{{Source: input, Target: "out/in/a.csv"}, {Source: src, Target: "out/dir"}},
		Outputs: []string{"out/b.csv", "logs/run.txt"},
		UID:     os.Getuid(),
		GID:     os.Getgid(),
	}
	l, err := planLayout(job)
	if err != nil {
		t.Fatal(err)
	}
	cleanup, err := l.prepare(job.UID, job.GID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		rel   string
		isDir bool
	}{{"out", true}, {"logs", true}, {"out/in", true}, {"out/in/a.csv", false}, {"out/dir", true}} {
		fi, err := os.Stat(filepath.Join(scratch, p.rel))
		if err != nil {
			t.Fatalf("after prepare: %v", err)
		}
		if fi.IsDir() != p.isDir {
			t.Errorf("after prepare: %s is a directory: %v, want %v", p.rel, fi.IsDir(), p.isDir)
		}
	}
	// What the job wrote stays.
	mustWrite(t, filepath.Join(scratch, "out", "b.csv"), "b")
	cleanup()
	got := jobtest.Tree(t, scratch)
	want := []string{"logs/", "out/", "out/b.csv"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scratch after cleanup (-want +got):\n%s", diff)
	}
}

func mustWrite(t *testing.T, name, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(name), 0o755))
	must(t, os.WriteFile(name, []byte(content), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
