//go:build !linux && !darwin

package digest

import (
	"io/fs"
	"os"
	"path/filepath"
)

// lstatAt describes name inside the directory dirPath without following a
// final symlink. Systems without fstatat resolve the whole path; they also
// lack inode numbers and change times, so the stat cache there relies on
// size, modification time and mode alone.
func lstatAt(_ *os.File, dirPath, name string, st *fileStat) error {
	fi, err := os.Lstat(filepath.Join(dirPath, name))
	if err != nil {
		return err
	}
	fillStat(st, fi)
	return nil
}

// statPath describes path, following symlinks.
func statPath(path string, st *fileStat) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fillStat(st, fi)
	return nil
}

// statOpen describes the open file f.
func statOpen(f *os.File, st *fileStat) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	fillStat(st, fi)
	return nil
}

func fillStat(st *fileStat, fi fs.FileInfo) {
	mode := fi.Mode()
	keep := mode.Perm()
	switch {
	case mode.IsRegular():
	case mode.IsDir():
		keep |= fs.ModeDir
	case mode&fs.ModeSymlink != 0:
		keep |= fs.ModeSymlink
	default:
		keep |= mode.Type()
	}
	*st = fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: keep}
}

// syncDir is a no-op where directories cannot be opened for syncing; the
// rename itself is what those systems make durable.
func syncDir(string) error { return nil }
