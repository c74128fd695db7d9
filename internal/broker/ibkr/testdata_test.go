package ibkr

import (
	"os"
	"path/filepath"
	"testing"
)

// readTestdata returns a recorded response from testdata/ (sources in
// testdata/README.md).
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
