// Package pin resolves container image references to digests, so that a
// stage's cache key names the exact image it runs and never a moving tag.
//
// A Resolver asks the local Docker engine first — locally built images have
// no registry digest, and their image ID is a content digest of their
// configuration — and then the image's registry, by a HEAD request for the
// manifest with the default keychain. Results are memoised for the
// resolver's lifetime, so a plan asks once per reference.
package pin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// imageInspect is what the resolver reads from an image inspection.
type imageInspect struct {
	ID          string
	RepoDigests []string
}

// Resolver pins image references. The zero value is not usable; call New.
type Resolver struct {
	engine   func(ctx context.Context, ref string) (imageInspect, error)
	registry func(ctx context.Context, ref name.Reference) (string, error)

	mu   sync.Mutex
	memo map[string]string
}

// Option configures a Resolver.
type Option func(*Resolver)

// WithoutRegistry stops the resolver from asking registries, for machines
// that cannot reach them.
func WithoutRegistry() Option { return func(r *Resolver) { r.registry = nil } }

// WithoutEngine stops the resolver from asking the local Docker engine.
func WithoutEngine() Option { return func(r *Resolver) { r.engine = nil } }

// New returns a Resolver that asks the local Docker engine (found through
// DOCKER_HOST and friends, with API version negotiation) and then the
// registry.
func New(opts ...Option) *Resolver {
	r := &Resolver{memo: map[string]string{}}
	var once sync.Once
	var cli *client.Client
	var cliErr error
	r.engine = func(ctx context.Context, ref string) (imageInspect, error) {
		once.Do(func() {
			cli, cliErr = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		})
		if cliErr != nil {
			return imageInspect{}, cliErr
		}
		ii, err := cli.ImageInspect(ctx, ref)
		if err != nil {
			return imageInspect{}, err
		}
		return imageInspect{ID: ii.ID, RepoDigests: ii.RepoDigests}, nil
	}
	r.registry = func(ctx context.Context, ref name.Reference) (string, error) {
		// A registry that does not answer must not stall a plan forever.
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		desc, err := remote.Head(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return "", err
		}
		return desc.Digest.String(), nil
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Resolve returns the digest of ref: its digest if it has one; the
// manifest digest the local engine recorded for its repository, or else
// the local image ID; or the registry's manifest digest.
func (r *Resolver) Resolve(ctx context.Context, ref string) (string, error) {
	r.mu.Lock()
	if d, ok := r.memo[ref]; ok {
		r.mu.Unlock()
		return d, nil
	}
	r.mu.Unlock()
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parsing image reference: %w", err)
	}
	if d, ok := parsed.(name.Digest); ok {
		return d.DigestStr(), nil
	}
	var errs []string
	if r.engine != nil {
		ii, err := r.engine(ctx, ref)
		if err == nil {
			d := ii.ID
			repo := parsed.Context().Name()
			for _, rd := range ii.RepoDigests {
				if p, err := name.NewDigest(rd); err == nil && p.Context().Name() == repo {
					d = p.DigestStr()
					break
				}
			}
			r.remember(ref, d)
			return d, nil
		}
		if client.IsErrNotFound(err) {
			errs = append(errs, "not in the local Docker engine")
		} else {
			errs = append(errs, fmt.Sprintf("local Docker engine: %v", err))
		}
	}
	if r.registry != nil {
		d, err := r.registry(ctx, parsed)
		if err == nil {
			r.remember(ref, d)
			return d, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		errs = append(errs, fmt.Sprintf("registry %s: %v", parsed.Context().RegistryStr(), firstLine(err)))
	}
	if len(errs) == 0 {
		return "", errors.New("no way to resolve images is enabled")
	}
	return "", errors.New(strings.Join(errs, "; "))
}

func (r *Resolver) remember(ref, d string) {
	r.mu.Lock()
	r.memo[ref] = d
	r.mu.Unlock()
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
