package docker

import "context"

// WithAfterStart calls f with each container's ID once it has started, so
// that tests can inspect the container before it is removed.
func WithAfterStart(f func(ctx context.Context, containerID string)) Option {
	return func(o *options) { o.afterStart = f }
}
