//go:build unix && !linux

package local

import (
	"errors"
	"os/exec"
	"syscall"
)

func newGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func signalGroup(pid int, sig syscall.Signal) {
	syscall.Kill(-pid, sig)
}

// reap waits for the job's leader process, then kills whatever else is
// left in its group. Without waitid's WNOWAIT the leader is reaped first,
// so in principle its pid could be reused before the kill; the window is a
// few instructions wide.
func reap(cmd *exec.Cmd, pid int) error {
	err := cmd.Wait()
	signalGroup(pid, syscall.SIGKILL)
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return nil
	}
	return err
}
