//go:build unix

package devserver

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readPID waits for a shell script to write a pid into file.
func readPID(t *testing.T, file string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(file)
		if s := strings.TrimSpace(string(b)); err == nil && strings.HasSuffix(string(b), "\n") && s != "" {
			pid, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("pid file %q: %v", b, err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", file)
	return 0
}

// waitGone waits until pid no longer exists (or is a zombie nobody reaps yet).
func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if gone(pid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d still running after %s", pid, within)
}

func gone(pid int) bool {
	if !alive(pid) {
		return true
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return !alive(pid)
	}
	// Field 3 (after "pid (comm) ") is the state; Z = zombie, X = dead.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// spawnWithGrandchild spawns a script that starts a long sleep in its
// process group, then runs then (a shell line); it returns the sleep's pid.
func spawnWithGrandchild(t *testing.T, then string) (*process, int) {
	t.Helper()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	script := filepath.Join(dir, "fake")
	writeExecutable(t, script, "#!/bin/sh\nsleep 300 &\necho $! > "+pidFile+"\n"+then+"\n")
	p, err := spawn(script, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, readPID(t, pidFile)
}

func TestStopKillsWholeProcessGroup(t *testing.T) {
	p, grandchild := spawnWithGrandchild(t, "wait")
	if err := p.stop(5 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	waitGone(t, p.pid(), 5*time.Second)
	waitGone(t, grandchild, 5*time.Second)
	if err2 := p.stop(time.Second); err2 != nil {
		t.Fatalf("second stop: %v", err2)
	}
}

// A child that exits on its own takes what it started with it at once: a
// group signal sent later, at Stop, could reach a stranger given the number.
func TestExitKillsWhatTheChildLeft(t *testing.T) {
	p, grandchild := spawnWithGrandchild(t, "exit 0")
	t.Cleanup(func() {
		if !gone(grandchild) {
			_ = killGroup(p.pid()) // the test failed: do not leave the sleeper behind
		}
	})
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not exit")
	}
	waitGone(t, grandchild, 5*time.Second)
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "stubborn")
	ready := filepath.Join(dir, "ready")
	// An ignored signal stays ignored across exec, so sleep ignores TERM too.
	writeExecutable(t, script, "#!/bin/sh\ntrap '' TERM\necho $$ > "+ready+"\nwhile :; do sleep 0.05; done\n")
	p, err := spawn(script, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	readPID(t, ready)
	begin := time.Now()
	err = p.stop(300 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("stop error = %v, want a 'killed' error", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("stop took %s", d)
	}
	waitGone(t, p.pid(), 5*time.Second)
}

func TestStopReportsEarlierCrash(t *testing.T) {
	script := filepath.Join(t.TempDir(), "crash")
	writeExecutable(t, script, "#!/bin/sh\necho 'fatal: disk on fire' >&2\nexit 3\n")
	p, err := spawn(script, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	err = p.stop(time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("stop error = %v", err)
	}
}
