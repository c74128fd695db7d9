package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The processes whose CPU time cpuMeter reads besides this one: the
// Temporal server (the embedded dev server, or the stack's), and on the
// stack tradeexec's api and worker processes and PostgreSQL (every process
// named postgres: tradeexec's and Temporal's databases).
var (
	serverPID     int
	tradeexecPIDs func() []int
	withPostgres  bool
)

// cpuMeter reads the CPU time (user + system) spent by tradeexec — this
// process (the in-process api and worker, and the bench's own client), or
// the stack's processes — by the Temporal server, and by PostgreSQL
// between two points. CPU per trade is steadier than latency on a shared
// machine: other load stretches the wall clock, not the work done.
type cpuMeter struct{ self, server, db time.Duration }

func readCPU() cpuMeter {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if tradeexecPIDs != nil {
		for _, pid := range tradeexecPIDs() {
			self += procCPU(pid)
		}
	}
	m := cpuMeter{self: self, server: procCPU(serverPID)}
	if withPostgres {
		m.db = postgresCPU()
	}
	return m
}

// postgresCPU sums the CPU time of every postgres process.
func postgresCPU() time.Duration {
	dirs, _ := os.ReadDir("/proc")
	var sum time.Duration
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			sum += procCPU(pid)
		}
	}
	return sum
}

// procCPU is utime + stime of pid from /proc (0 when unreadable).
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz
}

// per returns the CPU spent since m, divided by n units of work.
func (m cpuMeter) per(n int) cpuMeter { return m.perUntil(readCPU(), n) }

// perUntil is per up to the reading now rather than the present.
func (m cpuMeter) perUntil(now cpuMeter, n int) cpuMeter {
	if n <= 0 {
		n = 1
	}
	d := time.Duration(n)
	return cpuMeter{self: (now.self - m.self) / d, server: (now.server - m.server) / d, db: (now.db - m.db) / d}
}

func (m cpuMeter) total() time.Duration { return m.self + m.server + m.db }

func (m cpuMeter) String() string {
	s := fmt.Sprintf("%.1f ms = %.1f tradeexec/bench + %.1f Temporal", msf(m.total()), msf(m.self), msf(m.server))
	if withPostgres {
		s += fmt.Sprintf(" + %.1f PostgreSQL", msf(m.db))
	}
	return s
}

// fanoutProfile is -cpuprofile-fanout: a CPU profile of the fan-out's
// measured window only.
var fanoutProfile string

// startWindowProfile starts a CPU profile written to path (none when path
// is empty or -cpuprofile already runs one) and returns what stops it;
// calling that more than once is harmless.
func startWindowProfile(path string) func() {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	must(err)
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench: window profile not taken:", err)
		_ = f.Close()
		return nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			must(f.Close())
		})
	}
}
