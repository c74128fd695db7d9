package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tradeexec/tradeexec/internal/devserver"
)

// startTemporal starts the dev server on the run's port and state file.
func (c *cluster) startTemporal() error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var srv *devserver.Server
		srv, err = devserver.Start(context.Background(), devserver.Options{DBFile: filepath.Join(c.dir, "temporal.db"),
			Port: c.tport, Headless: true, StopTimeout: 5 * time.Second})
		if err == nil {
			c.temporal = srv
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("Temporal dev server (needs bin/temporal: make bin/temporal): %w", err)
}

// restartTemporal stops the dev server — gracefully (SIGTERM) or killed
// with its whole process group (SIGKILL: no shutdown, whatever was in
// flight is cut) — and starts it again on the same port and state file;
// clients reconnect.
func (c *cluster) restartTemporal(down time.Duration, kill bool) {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if kill {
		pid := c.temporal.PID()
		if err := c.temporal.Kill(); err != nil {
			c.t.Errorf("SIGKILL Temporal (process group %d): %v", pid, err)
		}
		select {
		case <-c.temporal.Done():
		case <-time.After(10 * time.Second):
			c.t.Errorf("Temporal (pid %d) still running 10 s after SIGKILL", pid)
		}
		_ = c.temporal.Stop() // reaps; reports the kill as an unexpected exit
		c.temporalKills++
	} else if err := c.temporal.Stop(); err != nil {
		c.t.Errorf("stop Temporal: %v", err)
	}
	time.Sleep(down)
	if err := c.startTemporal(); err != nil {
		c.t.Errorf("restart Temporal: %v", err)
	}
}

func (c *cluster) stopTemporal() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if c.temporal != nil {
		_ = c.temporal.Stop()
	}
}

// quiet silences the Temporal SDK's log (outages make it loud by design).
type quiet struct{}

func (quiet) Debug(string, ...interface{}) {}
func (quiet) Info(string, ...interface{})  {}
func (quiet) Warn(string, ...interface{})  {}
func (quiet) Error(string, ...interface{}) {}
