package devserver

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestArgs(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		want    []string // consecutive flag/value pairs that must appear
		wantNot []string
	}{
		{
			name: "defaults",
			opts: Options{},
			want: []string{
				"--ip 127.0.0.1", "--port 7000", "--ui-port 7001", "--log-level warn", "--color never",
				"--search-attribute UserId=Keyword", "--search-attribute Symbol=Keyword",
				"--search-attribute Broker=Keyword", "--search-attribute SignalSource=Keyword",
				"--search-attribute TradeStatus=Keyword",
				"--dynamic-config-value history.transferProcessorMaxPollRPS=10000",
				"--dynamic-config-value history.timerProcessorMaxPollRPS=10000",
				"--dynamic-config-value matching.numTaskqueueReadPartitions=1",
				"--dynamic-config-value matching.numTaskqueueWritePartitions=1",
				"--dynamic-config-value system.forceSearchAttributesCacheRefreshOnRead=true",
			},
			wantNot: []string{"--headless", "--db-filename", "--namespace", "--ui-codec-endpoint"},
		},
		{
			name:    "codec endpoint for the UI",
			opts:    Options{UICodecEndpoint: "http://localhost:8080/api/v1/temporal-codec"},
			want:    []string{"--ui-codec-endpoint http://localhost:8080/api/v1/temporal-codec"},
			wantNot: []string{"--headless"},
		},
		{
			name:    "headless has no UI to configure",
			opts:    Options{Headless: true, UICodecEndpoint: "http://localhost:8080/api/v1/temporal-codec"},
			wantNot: []string{"--ui-codec-endpoint"},
		},
		{
			name:    "headless persistent namespace",
			opts:    Options{Headless: true, DBFile: "/x/t.db", Namespace: "trading", LogLevel: "error"},
			want:    []string{"--headless", "--db-filename /x/t.db", "--namespace trading", "--log-level error"},
			wantNot: []string{"--ui-port"},
		},
		{
			name: "dynamic config override and addition",
			opts: Options{DynamicConfig: map[string]string{
				"history.transferProcessorMaxPollRPS": "20",
				"limit.maxIDLength":                   "1000",
			}},
			want: []string{
				"--dynamic-config-value history.transferProcessorMaxPollRPS=20",
				"--dynamic-config-value limit.maxIDLength=1000",
			},
			wantNot: []string{"history.transferProcessorMaxPollRPS=10000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.opts.args(7000, 7001)
			if !slices.Equal(args[:2], []string{"server", "start-dev"}) {
				t.Fatalf("args start with %q", args[:2])
			}
			joined := " " + strings.Join(args, " ") + " "
			for _, w := range tt.want {
				if !strings.Contains(joined, " "+w+" ") {
					t.Errorf("args lack %q:\n%s", w, joined)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(joined, w) {
					t.Errorf("args contain %q:\n%s", w, joined)
				}
			}
		})
	}
}

func TestArgsAreDeterministic(t *testing.T) {
	a := strings.Join(Options{}.args(1, 2), " ")
	for range 20 {
		if b := strings.Join(Options{}.args(1, 2), " "); a != b {
			t.Fatalf("args differ between calls:\n%s\n%s", a, b)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"zero value", Options{}, ""},
		{"all levels", Options{LogLevel: "never"}, ""},
		{"bad level", Options{LogLevel: "verbose"}, `invalid log level "verbose"`},
		{"negative port", Options{Port: -1}, "invalid port -1"},
		{"ui port too big", Options{UIPort: 70000}, "invalid UI port 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestTimeoutDefaults(t *testing.T) {
	o := Options{}
	if o.startTimeout() != 60*time.Second || o.stopTimeout() != 10*time.Second {
		t.Fatalf("defaults: start %s stop %s", o.startTimeout(), o.stopTimeout())
	}
	o = Options{StartTimeout: time.Second, StopTimeout: 2 * time.Second}
	if o.startTimeout() != time.Second || o.stopTimeout() != 2*time.Second {
		t.Fatalf("overrides ignored: start %s stop %s", o.startTimeout(), o.stopTimeout())
	}
}

func TestChildEnvDropsTemporalVariables(t *testing.T) {
	got := childEnv([]string{"PATH=/bin", "TEMPORAL_ADDRESS=x:1", "HOME=/root", "TEMPORAL_NAMESPACE=n", "MY_TEMPORAL=1"})
	want := []string{"PATH=/bin", "HOME=/root", "MY_TEMPORAL=1"}
	if !slices.Equal(got, want) {
		t.Fatalf("childEnv = %q, want %q", got, want)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := newTailBuffer(32)
	for i := range 10 {
		_, _ = tb.Write([]byte(strings.Repeat("x", i) + "line\n"))
	}
	lines := tb.lastLines(3)
	if len(lines) == 0 || len(lines) > 3 {
		t.Fatalf("lastLines(3) = %q", lines)
	}
	if last := lines[len(lines)-1]; last != "xxxxxxxxxline" {
		t.Fatalf("last line = %q", last)
	}
	if s := newTailBuffer(10).String(); !strings.Contains(s, "nothing") {
		t.Fatalf("empty tail = %q", s)
	}
}

func TestTailBufferShowsCrashHead(t *testing.T) {
	tb := newTailBuffer(64 << 10)
	_, _ = tb.Write([]byte("level=WARN msg=starting\npanic: runtime error: index out of range\n\ngoroutine 1 [running]:\n"))
	for i := range 100 {
		_, _ = tb.Write([]byte("frame " + strings.Repeat("x", i%7) + "\n"))
	}
	s := tb.String()
	if !strings.Contains(s, "crash report") || !strings.Contains(s, "panic: runtime error: index out of range") {
		t.Fatalf("crash head missing:\n%s", s)
	}
}
