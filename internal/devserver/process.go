package devserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// process is a started child in its own process group.
type process struct {
	cmd    *exec.Cmd
	tail   *tailBuffer
	banner *bannerWatcher
	done   chan struct{} // closed when the child has exited and been reaped
	err    error         // cmd.Wait's result; read only after done is closed

	stopOnce sync.Once
	stopErr  error
	stopping chan struct{} // closed when stop begins
}

// spawn starts binary with args. The child's environment is ours minus
// TEMPORAL_* variables, which the CLI would otherwise read as its own client
// configuration (tradeexec itself uses TEMPORAL_ADDRESS and friends).
func spawn(binary string, args []string, stdout, stderr io.Writer) (*process, error) {
	tail := newTailBuffer(16 << 10)
	cmd := exec.Command(binary, args...) // #nosec G204 -- the pinned temporal CLI, chosen by the operator; args built here
	cmd.Env = childEnv(os.Environ())
	cmd.Stdin = nil
	banner := newBannerWatcher(stdout)
	cmd.Stdout = banner
	if stderr == nil {
		cmd.Stderr = tail
	} else {
		cmd.Stderr = io.MultiWriter(tail, stderr)
	}
	// Output copying must not hold Wait hostage if a grandchild keeps the pipes.
	cmd.WaitDelay = 2 * time.Second
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devserver: start %s: %w", binary, err)
	}
	p := &process{cmd: cmd, tail: tail, banner: banner, done: make(chan struct{}), stopping: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		// Whatever the child started dies with it, now: a group signal sent
		// later, once the group is empty, could reach a stranger that was
		// given the number since (pids wrap at pid_max, 32768 on many hosts).
		killLeftovers(cmd.Process.Pid)
		close(p.done)
	}()
	return p, nil
}

func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "TEMPORAL_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the child has exited, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process group, waits up to timeout for the child
// to exit, then SIGKILLs the group. Whatever happens, the group is SIGKILLed
// as the child exits (spawn's waiter), so nothing it started survives. Safe
// to call more than once; later calls return the first result.
func (p *process) stop(timeout time.Duration) error {
	p.stopOnce.Do(func() {
		close(p.stopping)
		p.stopErr = p.doStop(timeout)
	})
	return p.stopErr
}

func (p *process) doStop(timeout time.Duration) error {
	pid := p.pid()
	if done, err := p.exited(); done {
		if err != nil {
			return fmt.Errorf("devserver: server had already exited: %w; %s", err, p.tail)
		}
		return nil
	}
	var result error
	if err := terminateGroup(pid); err != nil {
		result = fmt.Errorf("devserver: SIGTERM: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		// An exit caused by our SIGTERM is a clean stop whatever the status.
	case <-timer.C:
		result = errors.Join(result, fmt.Errorf("devserver: server did not exit within %s of SIGTERM; killed", timeout))
		_ = killGroup(pid)
		<-p.done
	}
	return result
}
