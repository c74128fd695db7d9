package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

func TestParseSQLiteURL(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		wantBase string
		wantPath string
		memory   bool
		wantErr  string
	}{
		{name: "absolute", url: "sqlite:///abs/path/file.db", wantBase: "/abs/path/file.db", wantPath: "/abs/path/file.db"},
		{name: "relative", url: "sqlite://relative/path.db", wantBase: "relative/path.db", wantPath: "relative/path.db"},
		{name: "escaped", url: "sqlite:///tmp/my%20db.db", wantBase: "/tmp/my db.db", wantPath: "/tmp/my db.db"},
		{name: "memory", url: "sqlite::memory:", wantBase: ":memory:", memory: true},
		{name: "memory slashes", url: "sqlite://:memory:", wantBase: ":memory:", memory: true},
		{name: "file uri", url: "file:data.db?mode=rwc", wantBase: "file:data.db"},
		{name: "file memory", url: "file::memory:", wantBase: "file::memory:", memory: true},
		{name: "user pragma kept", url: "sqlite:///x.db?_pragma=cache_size(-4000)", wantBase: "/x.db", wantPath: "/x.db"},
		{name: "missing path", url: "sqlite://", wantErr: "missing file path"},
		{name: "time format refused", url: "sqlite:///x.db?_time_format=sqlite", wantErr: "_time_format"},
		{name: "txlock refused", url: "sqlite:///x.db?_txlock=deferred", wantErr: "_txlock"},
		{name: "malformed", url: "sqlite:x.db", wantErr: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := parseSQLiteURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			base, query, _ := strings.Cut(src.dsn, "?")
			if base != tt.wantBase || src.path != tt.wantPath || src.memory != tt.memory {
				t.Fatalf("got base=%q path=%q memory=%v", base, src.path, src.memory)
			}
			for _, want := range []string{"_txlock=immediate", "busy_timeout%2810000%29", "foreign_keys%281%29", "temp_store%28MEMORY%29"} {
				if !strings.Contains(query, want) {
					t.Errorf("query %q lacks %q", query, want)
				}
			}
			if strings.Contains(query, "journal_mode") == tt.memory {
				t.Errorf("journal_mode presence wrong for memory=%v: %q", tt.memory, query)
			}
			if strings.Contains(tt.url, "cache_size") && !strings.Contains(query, "cache_size") {
				t.Errorf("user parameter dropped: %q", query)
			}
		})
	}
}

func TestGormLoggerNeverLogsParameters(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	ctx := context.Background()
	db, _, err := Open(ctx, "sqlite::memory:", zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	defer Close(db)
	const secret = "ciphertext-SECRET-4f1d"
	if err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO t (v) VALUES (?)", secret).Error; err != nil {
		t.Fatal(err)
	}
	// A failing statement is logged (unique violation) ...
	if err := db.Exec("INSERT INTO t (v) VALUES (?)", secret).Error; !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Fatalf("want ErrDuplicatedKey, got %v", err)
	}
	// ... and so is every statement in debug mode.
	var v string
	if err := db.Debug().Raw("SELECT v FROM t WHERE v = ?", secret).Scan(&v).Error; err != nil || v != secret {
		t.Fatalf("select: %v %q", err, v)
	}
	// A missing row is not an error worth logging.
	var n int
	_ = db.Raw("SELECT id FROM t WHERE v = ?", "none").Take(&n).Error

	if n := logs.Filter(func(e observer.LoggedEntry) bool { return e.LoggerName == "sql" }).Len(); n < 2 {
		t.Fatalf("expected the failure and the debug statement to be logged, got %d entries", n)
	}
	for _, e := range logs.All() {
		if e.LoggerName != "sql" {
			continue
		}
		line := e.Message
		for k, f := range e.ContextMap() {
			line += " " + k + "=" + fmt.Sprint(f)
		}
		if strings.Contains(line, secret) {
			t.Fatalf("log line leaks a bound parameter: %s", line)
		}
		if !strings.Contains(line, "?") {
			t.Errorf("expected placeholder in logged SQL: %s", line)
		}
	}
	found := false
	for _, e := range logs.FilterMessage("sql statement failed").All() {
		if e.Level == zapcore.WarnLevel {
			found = true
		}
	}
	if !found {
		t.Error("failed statement not logged at warn level")
	}
}

func TestGormLoggerSlowQuery(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := newGormLogger(zap.New(core))
	l.slow = time.Millisecond
	l.Trace(context.Background(), time.Now().Add(-time.Second), func() (string, int64) {
		return "SELECT 1 WHERE x = ?", 1
	}, nil)
	if got := logs.FilterMessage("slow sql statement").Len(); got != 1 {
		t.Fatalf("slow statement logged %d times", got)
	}
	silent := l.LogMode(gormlogger.Silent)
	silent.Trace(context.Background(), time.Now().Add(-time.Second), func() (string, int64) { return "x", 0 }, errors.New("boom"))
	if logs.Len() != 1 {
		t.Fatal("silent logger logged")
	}
}
