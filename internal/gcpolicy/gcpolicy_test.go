package gcpolicy

import (
	"errors"
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/stretchr/testify/require"
)

// The tests change process-wide settings: each restores them.
func restore(t *testing.T) {
	pct := debug.SetGCPercent(100)
	debug.SetGCPercent(pct)
	lim := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(lim)
	})
}

func currentPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func unset(t *testing.T, names ...string) {
	for _, n := range names {
		t.Setenv(n, "") // restored after the test
		require.NoError(t, os.Unsetenv(n))
	}
}

// containerLimit is LimitRatio of 1 GiB, as automemlimit computes it.
var (
	ratio          = LimitRatio
	containerLimit = int64(float64(1<<30) * ratio)
)

var (
	oneGiB   = memlimit.Limit(1 << 30)
	noLimit  = func() (uint64, error) { return 0, memlimit.ErrNoLimit }
	noCgroup = func() (uint64, error) { return 0, errors.New("cgroup: no memory controller") }
)

func TestApply(t *testing.T) {
	for _, tt := range []struct {
		name     string
		env      map[string]string
		provider memlimit.Provider
		percent  int // the collector's target after Apply
		from     string
		limit    int64
		limFrom  string
		err      string
	}{
		{name: "defaults in a container", provider: oneGiB, percent: DefaultPercent, from: "default",
			limit: containerLimit, limFrom: "container"},
		{name: "no container limit", provider: noLimit, percent: DefaultPercent, from: "default", limit: math.MaxInt64, limFrom: "none"},
		{name: "no cgroup", provider: noCgroup, percent: DefaultPercent, from: "default", limit: math.MaxInt64, limFrom: "none"},
		{name: "GOGC wins", env: map[string]string{"GOGC": "150"}, provider: noLimit, percent: 77, from: "GOGC", limit: math.MaxInt64, limFrom: "none"},
		{name: "GOGC off", env: map[string]string{"GOGC": "off"}, provider: noLimit, percent: 77, from: "GOGC", limit: math.MaxInt64, limFrom: "none"},
		{name: "GOMEMLIMIT wins", env: map[string]string{"GOMEMLIMIT": "300MiB"}, provider: oneGiB, percent: DefaultPercent, from: "default",
			limit: 123 << 20, limFrom: "GOMEMLIMIT"},
		{name: "AUTOMEMLIMIT ratio", env: map[string]string{"AUTOMEMLIMIT": "0.5"}, provider: oneGiB, percent: DefaultPercent, from: "default",
			limit: 1 << 29, limFrom: "container"},
		{name: "AUTOMEMLIMIT off", env: map[string]string{"AUTOMEMLIMIT": "off"}, provider: oneGiB, percent: DefaultPercent, from: "default",
			limit: math.MaxInt64, limFrom: "none"},
		{name: "GOGC malformed", env: map[string]string{"GOGC": "lots"}, provider: noLimit, err: `GOGC: invalid value "lots"`},
		{name: "GOGC negative", env: map[string]string{"GOGC": "-5"}, provider: noLimit, err: `GOGC: invalid value "-5"`},
		{name: "AUTOMEMLIMIT malformed", env: map[string]string{"AUTOMEMLIMIT": "most"}, provider: oneGiB, err: "AUTOMEMLIMIT: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			restore(t)
			unset(t, "GOGC", "GOMEMLIMIT", "AUTOMEMLIMIT")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			// What the runtime read at start when the variables are set
			// (Apply leaves them as they are).
			debug.SetGCPercent(77)
			debug.SetMemoryLimit(123 << 20)
			if _, ok := tt.env["GOMEMLIMIT"]; !ok {
				debug.SetMemoryLimit(math.MaxInt64)
			}

			p, err := Apply(os.LookupEnv, tt.provider)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.percent, currentPercent())
			require.Equal(t, tt.from, p.PercentFrom)
			require.Equal(t, tt.limit, debug.SetMemoryLimit(-1))
			require.Equal(t, tt.limit, p.MemoryLimit)
			require.Equal(t, tt.limFrom, p.LimitFrom)
			require.NotEmpty(t, p.String())
		})
	}
}
