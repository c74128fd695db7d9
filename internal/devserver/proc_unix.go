//go:build unix && !linux

package devserver

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in its own process group so Stop can signal
// everything it started. There is no parent death signal outside Linux: a
// parent killed with SIGKILL leaves the server running there.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
