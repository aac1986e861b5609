package docker_test

import (
	"context"
	"testing"

	"lattice.dev/lattice/executor"
)

// BenchmarkRunTrivial measures the backend's overhead per stage: one Run of
// `true` with an input and an output, the smallest realistic stage.
// scripts/bench-docker-overhead.sh compares it with `docker run --rm`.
func BenchmarkRunTrivial(b *testing.B) {
	_, image := engine(b)
	backend := newBackend(b)
	ctx := context.Background()
	// The first Run negotiates the API version; keep it out of the figure.
	warm := newJob(b, image, "true")
	warm.Argv = []string{"true"}
	if _, err := backend.Run(ctx, warm); err != nil {
		b.Fatal(err)
	}
	jobs := make([]*executor.Job, b.N)
	for i := range jobs {
		jobs[i] = newJob(b, image, "")
		jobs[i].Argv = []string{"true"}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := backend.Run(ctx, jobs[i])
		if err != nil {
			b.Fatal(err)
		}
		if res.ExitCode != 0 {
			b.Fatalf("exit code %d", res.ExitCode)
		}
	}
}
