package devserver

import (
	"os"
	"os/exec"
)

// setProcAttr has nothing to set on Windows; the server is ended with
// Process.Kill and may outlive a parent that is killed.
func setProcAttr(*exec.Cmd) {}

func terminateGroup(pid int) error { return killGroup(pid) }

func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	_ = p.Kill()
	return nil
}

// killLeftovers does nothing on Windows: there is no process group to find
// what the child started, and its pid may already name another process.
func killLeftovers(int) {}

func alive(pid int) bool {
	_, err := os.FindProcess(pid)
	return err == nil
}
