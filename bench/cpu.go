package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverPID is the Temporal server's process (the embedded dev server, or
// 0 when it is not ours to read), for cpuMeter.
var serverPID int

// cpuMeter reads the CPU time (user + system) spent by this process —
// tradeexec's api and worker and the bench's own client — and by the
// Temporal server between two points. CPU per trade is steadier than
// latency on a shared machine: other load stretches the wall clock, not
// the work done.
type cpuMeter struct{ self, server time.Duration }

func readCPU() cpuMeter {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpuMeter{self: self, server: procCPU(serverPID)}
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
func (m cpuMeter) per(n int) cpuMeter {
	now := readCPU()
	if n <= 0 {
		n = 1
	}
	return cpuMeter{self: (now.self - m.self) / time.Duration(n), server: (now.server - m.server) / time.Duration(n)}
}

func (m cpuMeter) total() time.Duration { return m.self + m.server }

func (m cpuMeter) String() string {
	if serverPID <= 0 {
		return fmt.Sprintf("%.1f ms (this process)", msf(m.self))
	}
	return fmt.Sprintf("%.1f ms = %.1f tradeexec/bench + %.1f Temporal", msf(m.total()), msf(m.self), msf(m.server))
}
