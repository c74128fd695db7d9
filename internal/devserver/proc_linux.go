package devserver

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in its own process group (so Stop can signal
// everything it started) and asks the kernel to SIGKILL it when the thread
// that started it dies. Go only ends an OS thread when a goroutine exits
// while locked to it (runtime.LockOSThread), which this package never does.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
