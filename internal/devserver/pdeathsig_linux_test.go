package devserver

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "DEVSERVER_TEST_PARENT"

// TestHelperParent is not a test: run as a child of TestChildDiesWithParent,
// it spawns a long-running process, prints its pid and waits to be killed.
func TestHelperParent(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process only")
	}
	p, err := spawn("sleep", []string{"300"}, nil, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("pid", p.pid())
	time.Sleep(time.Minute)
	os.Exit(0)
}

func TestChildDiesWithParent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperParent$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	child := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			child, _ = strconv.Atoi(v)
			break
		}
	}
	if child == 0 {
		t.Fatal("helper did not report a child pid")
	}
	// If the test fails, do not leave the sleeper behind.
	t.Cleanup(func() {
		if !gone(child) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
	})
	if gone(child) {
		t.Fatalf("child %d not running before the parent died", child)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, child, 5*time.Second)
}
