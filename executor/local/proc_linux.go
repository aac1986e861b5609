package local

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// newGroupAttr puts the job in a process group of its own, so that one
// signal reaches everything it started.
func newGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group led by pid. A group that is
// already gone is not an error.
func signalGroup(pid int, sig syscall.Signal) {
	syscall.Kill(-pid, sig)
}

// reap waits for the job's leader process to exit, kills whatever else is
// left in its process group (a container's processes die with it; so do
// these), then reaps the leader. The leader stays a zombie until the kill
// is sent, which keeps its pid, and so the group's id, from being reused by
// an unrelated process in between.
func reap(cmd *exec.Cmd, pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("waiting for process %d: %w", pid, err)
		}
		break
	}
	signalGroup(pid, syscall.SIGKILL)
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		// A non-zero exit is the job's business, reported in the Result.
		return nil
	}
	return err
}
