package devserver

import (
	"bytes"
	"testing"
)

func TestBannerWatcher(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   bool
	}{
		{"cli output", []string{"CLI 0.0.0-DEV (Server 1.29.1, UI 2.42.1)\n\nServer:  localhost:7233\n"}, true},
		{"split across writes", []string{"CLI x\nSer", "ver:  localhost:1\n"}, true},
		{"first line", []string{"Server: x"}, true},
		{"only in the middle of a line", []string{"CLI (Server: 1.29.1)\n"}, false},
		{"nothing", []string{"Metrics: http://x\n"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			b := newBannerWatcher(&out)
			var all string
			for _, w := range tt.writes {
				if _, err := b.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
				all += w
			}
			select {
			case <-b.seen:
				if !tt.want {
					t.Fatal("banner reported but not printed")
				}
			default:
				if tt.want {
					t.Fatal("banner not reported")
				}
			}
			if out.String() != all {
				t.Fatalf("passed through %q, want %q", out.String(), all)
			}
		})
	}
}
