package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/payloadcodec"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/vault"
)

// workerEnv carries a workerConfig (JSON) to the worker subprocess: the
// test binary started again, which TestMain turns into a worker.
const workerEnv = "TRADEEXEC_CHAOS_WORKER"

// workerConfig is what the worker process needs.
type workerConfig struct {
	DSN       string        `json:"dsn"`
	Temporal  string        `json:"temporal"`
	TaskQueue string        `json:"taskQueue"`
	Vault     string        `json:"vault"`
	Payload   string        `json:"payload"` // TEMPORAL_PAYLOAD_KEYS
	GuardPoll time.Duration `json:"guardPoll"`
	Log       string        `json:"log"`
}

// runWorker is the worker process: the production worker (app.Start) on
// the shared database and Temporal server until it is killed.
func runWorker(raw string) int {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "chaos worker: config:", err)
		return 2
	}
	logCfg := zap.NewProductionConfig()
	logCfg.OutputPaths, logCfg.ErrorOutputPaths = []string{cfg.Log}, []string{cfg.Log}
	log, err := logCfg.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos worker: log:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	kr, err := vault.ParseKeyring(cfg.Vault)
	if err != nil {
		log.Error("vault", zap.Error(err))
		return 2
	}
	var db *gorm.DB
	for db == nil {
		d, _, err := store.Open(ctx, cfg.DSN, log.Named("db"))
		if err != nil {
			log.Warn("database not reachable yet", zap.Error(err))
			time.Sleep(200 * time.Millisecond)
			continue
		}
		db = d
	}
	var st *app.Stack
	for st == nil {
		codec, err := payloadcodec.Parse(cfg.Payload)
		if err != nil {
			log.Error("payload keys", zap.Error(err))
			return 2
		}
		opts := client.Options{HostPort: cfg.Temporal}
		codec.Apply(&opts)
		tc, err := client.Dial(opts)
		if err == nil {
			st, err = app.Start(ctx, app.Options{DB: db, Temporal: tc, TaskQueue: cfg.TaskQueue, Vault: kr, Log: log,
				FillPoll: 50 * time.Millisecond, RunWorker: true,
				Brokers: app.BrokerOptions{AllowCustomURLs: true, Unthrottled: true}, Risk: app.RiskOptions{GuardPoll: cfg.GuardPoll}})
			if err != nil {
				tc.Close()
			}
		}
		if err != nil {
			log.Warn("worker not started yet", zap.Error(err))
			select {
			case <-ctx.Done():
				return 1
			case <-time.After(300 * time.Millisecond):
			}
		}
	}
	log.Info("chaos worker running")
	<-ctx.Done()
	st.Stop()
	return 0
}

// workerProc is a running worker process.
type workerProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// startWorker starts a worker process.
func (c *cluster) startWorker() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.workerN++
	cfg, _ := json.Marshal(workerConfig{DSN: c.workerDSN(), Temporal: c.taddr, TaskQueue: c.queue, Vault: c.keySpec, Payload: c.payloadSpec,
		GuardPoll: guardPoll, Log: filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", c.workerN))})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+string(cfg))
	out, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("worker-%d.out", c.workerN)))
	if err != nil {
		c.t.Errorf("worker output: %v", err)
		return
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		c.t.Errorf("start worker: %v", err)
		return
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = out.Close(); close(w.done) }()
	c.worker = w
}

// workerDSN names the worker's PostgreSQL sessions, so the outage fault
// can cut exactly them.
func (c *cluster) workerDSN() string {
	if c.dialect != store.Postgres {
		return c.dsn
	}
	u, _ := url.Parse(c.dsn)
	q := u.Query()
	q.Set("application_name", "chaos-worker")
	u.RawQuery = q.Encode()
	return u.String()
}

// killWorker kills the worker process at once (SIGKILL: no graceful stop).
func (c *cluster) killWorker() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.worker != nil {
		_ = c.worker.cmd.Process.Kill()
		<-c.worker.done
		c.worker = nil
	}
}

func (c *cluster) stopWorker() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.worker != nil {
		_ = c.worker.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.worker.done:
		case <-time.After(15 * time.Second):
			_ = c.worker.cmd.Process.Kill()
			<-c.worker.done
		}
		c.worker = nil
	}
}
