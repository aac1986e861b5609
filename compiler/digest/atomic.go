package digest

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// WriteFileAtomic writes data to path so that readers see either the old
// file or the whole new one, even across a crash: it writes a temporary file
// in the same directory, flushes it to disk, renames it over path and then
// flushes the directory so the rename itself is durable. perm is filtered by
// the umask, as with os.WriteFile. The directory must exist.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := createTemp(path, perm)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	if err := writeAndClose(f, data); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("flushing the directory of %s: %w", path, err)
	}
	return nil
}

// writeAndClose writes data to f, flushes it to disk and closes it.
func writeAndClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// createTemp creates a new file next to path. Unlike os.CreateTemp it takes
// the final permissions, so that the umask applies exactly as it would to a
// plain os.WriteFile. The name starts with a dot so that directory listings
// and globs over the final names skip it.
func createTemp(path string, perm os.FileMode) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		name := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("creating a temporary file next to %s: too many name collisions", path)
}
