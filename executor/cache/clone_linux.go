//go:build linux

package cache

import (
	"os"

	"golang.org/x/sys/unix"
)

// cloneFile makes dst share src's extents (FICLONE). It fails on
// filesystems without reflinks and across filesystems.
func cloneFile(dst, src *os.File) error {
	sc, err := src.SyscallConn()
	if err != nil {
		return err
	}
	dc, err := dst.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = dc.Control(func(dfd uintptr) {
		err := sc.Control(func(sfd uintptr) {
			cerr = unix.IoctlFileClone(int(dfd), int(sfd))
		})
		if cerr == nil {
			cerr = err
		}
	})
	if err != nil {
		return err
	}
	return cerr
}

// exchange atomically swaps the files or directories at a and b.
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}
