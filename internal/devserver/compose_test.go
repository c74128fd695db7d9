package devserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docker-compose.yml registers the search attributes with the admin tools;
// it must list exactly the ones the dev server registers.
func TestComposeRegistersSameSearchAttributes(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := moduleRoot(wd)
	if !ok {
		t.Fatal("no module root")
	}
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	compose := string(b)
	for _, sa := range SearchAttributes {
		if want := "--name " + sa.Name + " --type " + sa.Type; !strings.Contains(compose, want) {
			t.Errorf("docker-compose.yml lacks %q", want)
		}
	}
	if got, want := strings.Count(compose, "--name "), len(SearchAttributes); got != want {
		t.Errorf("docker-compose.yml registers %d search attributes, devserver %d", got, want)
	}
}
