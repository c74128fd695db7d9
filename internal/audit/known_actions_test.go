package audit_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tradeexec/tradeexec/internal/audit"
)

// Every action the code can record is one the administrators' filter
// accepts: the source tree's constants named Action… and `Action: "…"`
// literals are all in audit.KnownActions (add a new one there).
func TestEveryRecordedActionIsKnown(t *testing.T) {
	root := filepath.Join("..", "..")
	known := audit.KnownActions()
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "web", ".git", "testdata", "bin", ".data":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		check := func(lit ast.Expr, where string) {
			bl, ok := lit.(*ast.BasicLit)
			if !ok || bl.Kind != token.STRING {
				return
			}
			name, err := strconv.Unquote(bl.Value)
			if err != nil || name == "" || strings.ToUpper(name) != name || strings.ContainsAny(name, " .:/") {
				return
			}
			found++
			if !slices.Contains(known, name) {
				t.Errorf("%s: action %s is not in audit.knownActions (internal/audit/known_actions.go)", where, name)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ValueSpec:
				for i, id := range x.Names {
					if strings.HasPrefix(id.Name, "Action") && i < len(x.Values) {
						check(x.Values[i], path+": "+id.Name)
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Action" {
					check(x.Value, path)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 50 {
		t.Fatalf("found only %d action names in the source tree", found)
	}
}
