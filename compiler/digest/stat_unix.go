//go:build linux || darwin

package digest

import (
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lstatAt describes name inside the open directory dir without following a
// final symlink. Resolving the name relative to the directory's descriptor
// spares the kernel a walk of the whole path for each of many files.
func lstatAt(dir *os.File, dirPath, name string, st *fileStat) error {
	var s unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), name, &s, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "lstat", Path: filepath.Join(dirPath, name), Err: err}
	}
	fillStat(st, &s)
	return nil
}

// statPath describes path, following symlinks.
func statPath(path string, st *fileStat) error {
	var s unix.Stat_t
	if err := unix.Stat(path, &s); err != nil {
		return &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	fillStat(st, &s)
	return nil
}

// statOpen describes the open file f.
func statOpen(f *os.File, st *fileStat) error {
	var s unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &s); err != nil {
		return &fs.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	fillStat(st, &s)
	return nil
}

func fillStat(st *fileStat, s *unix.Stat_t) {
	*st = fileStat{
		size:  s.Size,
		mtime: s.Mtim.Nano(),
		ctime: s.Ctim.Nano(),
		ino:   uint64(s.Ino),
		dev:   uint64(s.Dev),
		mode:  fileMode(uint32(s.Mode)),
	}
}

// fileMode converts Unix mode bits to the portable fs.FileMode, keeping only
// what the hasher distinguishes: the file type and the permission bits.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	default:
		mode |= fs.ModeIrregular
	}
	return mode
}

// syncDir flushes a directory's entries to disk, so that a rename into it
// survives a crash.
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
