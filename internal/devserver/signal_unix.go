//go:build unix

package devserver

import (
	"errors"
	"syscall"
)

// terminateGroup sends SIGTERM to the child's process group.
func terminateGroup(pid int) error { return signalGroup(pid, syscall.SIGTERM) }

// killGroup sends SIGKILL to the child's process group.
func killGroup(pid int) error { return signalGroup(pid, syscall.SIGKILL) }

// killLeftovers SIGKILLs what is left of the group of a child just reaped
// (while any member lives, the group's number cannot be given to anyone else).
func killLeftovers(pid int) { _ = killGroup(pid) }

func signalGroup(pid int, sig syscall.Signal) error {
	// The child is its group's leader (Setpgid), so its pid is the pgid.
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil // nothing left in the group
	}
	return err
}

// alive reports whether a process with this pid exists (and is not a zombie
// we could still reap).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}
