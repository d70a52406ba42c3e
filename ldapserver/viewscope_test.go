package ldapserver

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Inside a directory View, reads go through its Reader: a Directory call
// opens a second transaction, which deadlocks against a writer growing the
// file (directory.View refuses it when given View's context; this catches
// the calls that pass another context). So no method of view, and no
// function given to View, may reach the Directory or make a context.
func TestViewReadsOnlyThroughItsReader(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Recv != nil && receiver(n.Recv) == "*view" {
					checkViewScope(t, fset, n.Body, "method view."+n.Name.Name)
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "View" && len(n.Args) == 2 {
					checkViewScope(t, fset, n.Args[1], "the function given to View")
				}
			}
			return true
		})
	}
}

func receiver(fl *ast.FieldList) string {
	if len(fl.List) != 1 {
		return ""
	}
	if star, ok := fl.List[0].Type.(*ast.StarExpr); ok {
		if id, ok := star.X.(*ast.Ident); ok {
			return "*" + id.Name
		}
	}
	return ""
}

func checkViewScope(t *testing.T, fset *token.FileSet, body ast.Node, where string) {
	t.Helper()
	ast.Inspect(body, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, _ := sel.X.(*ast.Ident)
		switch {
		case sel.Sel.Name == "dir":
			t.Errorf("%s: %s reaches the Directory inside a View", fset.Position(sel.Pos()), where)
		case x != nil && x.Name == "context" && (sel.Sel.Name == "Background" || sel.Sel.Name == "TODO"):
			t.Errorf("%s: %s makes a context instead of using View's", fset.Position(sel.Pos()), where)
		}
		return true
	})
}
