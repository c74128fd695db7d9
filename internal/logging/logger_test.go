package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.uber.org/zap"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		check   func(t *testing.T, out string)
	}{
		{name: "json default", opts: Options{}, check: func(t *testing.T, out string) {
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("not JSON: %v: %s", err, out)
			}
			ts, _ := m["ts"].(string)
			if !strings.HasSuffix(ts, "Z") || m["level"] != "info" || m["msg"] != "hello" || m["caller"] == nil {
				t.Fatalf("unexpected entry %v", m)
			}
		}},
		{name: "console", opts: Options{Format: "console", Level: "debug"}, check: func(t *testing.T, out string) {
			if !strings.Contains(out, "INFO") || !strings.Contains(out, "hello") || strings.HasPrefix(out, "{") {
				t.Fatalf("unexpected console line %q", out)
			}
		}},
		{name: "bad level", opts: Options{Level: "loud"}, wantErr: `invalid level "loud"`},
		{name: "bad format", opts: Options{Format: "xml"}, wantErr: `invalid format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.opts.Output = &buf
			l, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("debug line")
			l.Info("hello")
			out := strings.TrimSpace(buf.String())
			if tt.opts.Level != "debug" && strings.Contains(out, "debug line") {
				t.Fatalf("debug written at level %q", tt.opts.Level)
			}
			lines := strings.Split(out, "\n")
			tt.check(t, lines[len(lines)-1])
		})
	}
}

func TestContext(t *testing.T) {
	l, buf := newTestLogger(t)
	if FromContext(context.Background()) != zap.L() {
		t.Fatal("empty context must give the global logger")
	}
	ctx := WithContext(context.Background(), l)
	ctx = WithRequestID(ctx, "req-1")
	ctx = WithWorkflowID(ctx, "trade/s1/u1")
	ctx = WithTraceID(ctx, "trace-9")
	ctx = WithUserID(ctx, "u1")
	ctx = With(ctx, zap.String("symbol", "AAPL"))
	FromContext(ctx).Info("placed")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"request_id": "req-1", "workflow_id": "trade/s1/u1", "trace_id": "trace-9", "user_id": "u1", "symbol": "AAPL"} {
		if m[k] != v {
			t.Errorf("%s = %v, want %s", k, m[k], v)
		}
	}
	// The parent context's logger is unchanged.
	buf.Reset()
	FromContext(WithContext(context.Background(), l)).Info("plain")
	if strings.Contains(buf.String(), "req-1") {
		t.Fatal("fields leaked into the parent logger")
	}
}

func TestTemporalAdapter(t *testing.T) {
	l, buf := newTestLogger(t)
	tl := Temporal(l)
	tl.Info("Started Worker", "Namespace", "default", "WorkflowID", "trade/1", "RunID", "r1", "Password", leak)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if m["workflow_id"] != "trade/1" || m["run_id"] != "r1" || m["Namespace"] != "default" || m["Password"] != Redacted {
		t.Fatalf("unexpected entry %v", m)
	}
	if c, _ := m["caller"].(string); !strings.Contains(c, "logger_test.go") {
		t.Errorf("caller %q should be the SDK's call site (here: this test)", c)
	}
	buf.Reset()
	tl.(sdklog.WithLogger).With("Attempt", 2).Error("odd", "dangling")
	if !strings.Contains(buf.String(), `"Attempt":2`) || !strings.Contains(buf.String(), `"missing_value_for":"dangling"`) {
		t.Fatalf("unexpected: %s", buf.String())
	}
}
