//go:build !unix

package local

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// Without process groups, only the job's own process can be signalled, and
// only killed: children it started may outlive it.
func newGroupAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, sig syscall.Signal) {
	if sig != syscall.SIGKILL {
		return
	}
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

func reap(cmd *exec.Cmd, pid int) error {
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return nil
	}
	return err
}
