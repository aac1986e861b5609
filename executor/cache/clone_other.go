//go:build !linux

package cache

import (
	"errors"
	"os"
)

// cloneFile would make dst share src's extents; only Linux's FICLONE is
// supported so far.
func cloneFile(dst, src *os.File) error { return errors.ErrUnsupported }

// exchange would atomically swap a and b; without renameat2 the caller
// falls back to two renames.
func exchange(a, b string) error { return errors.ErrUnsupported }
