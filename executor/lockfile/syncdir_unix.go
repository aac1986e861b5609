//go:build unix

package lockfile

import "os"

// syncDir flushes a directory, so that a file just created in it survives
// a crash along with its contents.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
