package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// lister is the engine call RemoveLabelled needs besides Client's.
type lister interface {
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
}

// RemoveLabelled force-removes every container, running or not, that
// carries all the given labels, and returns how many it removed. Apply uses
// it to clear containers that an interrupted run of the same workspace
// left behind (a killed lattice process cannot remove its containers).
func (b *Backend) RemoveLabelled(ctx context.Context, labels map[string]string) (int, error) {
	l, ok := b.client.(lister)
	if !ok || len(labels) == 0 {
		return 0, nil
	}
	f := filters.NewArgs()
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	cs, err := l.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return 0, fmt.Errorf("listing containers: %w", err)
	}
	n := 0
	for _, c := range cs {
		if err := b.remove(ctx, c.ID); err != nil {
			return n, fmt.Errorf("removing container %s: %w", shortID(c.ID), err)
		}
		n++
	}
	return n, nil
}
