package devserver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeExecutable(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFindBinary(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	envBin := filepath.Join(t.TempDir(), "temporal-custom")
	writeExecutable(t, envBin, "#!/bin/sh\n")
	plain := filepath.Join(t.TempDir(), "not-exec")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		env       string
		install   bool // create <root>/bin/temporal
		want      string
		wantErrIn []string
	}{
		{name: "env wins", env: envBin, install: true, want: envBin},
		{name: "env missing file", env: filepath.Join(root, "nope"), wantErrIn: []string{"TEMPORAL_CLI=", "no such file", "make bin/temporal"}},
		{name: "env not executable", env: plain, wantErrIn: []string{"not executable"}},
		{name: "module root bin", install: true, want: filepath.Join(root, "bin", "temporal")},
		{name: "not installed", wantErrIn: []string{"make bin/temporal", filepath.Join(root, "bin", "temporal")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.RemoveAll(filepath.Join(root, "bin"))
			if tt.install {
				writeExecutable(t, filepath.Join(root, "bin", "temporal"), "#!/bin/sh\n")
			}
			t.Setenv(BinaryEnv, tt.env)
			t.Chdir(deep)
			got, err := FindBinary()
			if tt.wantErrIn != nil {
				if err == nil {
					t.Fatalf("FindBinary() = %q, want error", got)
				}
				if !errors.Is(err, ErrBinaryNotFound) {
					t.Errorf("error %v does not wrap ErrBinaryNotFound", err)
				}
				for _, w := range tt.wantErrIn {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FindBinary: %v", err)
			}
			// t.TempDir may sit behind a symlink; compare resolved paths.
			gotR, _ := filepath.EvalSymlinks(got)
			wantR, _ := filepath.EvalSymlinks(tt.want)
			if gotR != wantR {
				t.Fatalf("FindBinary() = %q, want %q", got, tt.want)
			}
		})
	}
}
