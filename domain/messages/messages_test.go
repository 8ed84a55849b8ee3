package messages

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/tests/architecture"
)

const failurePath = "github.com/msa-dossier/dossier/domain/failure"

// declared is a code declared with failure.New, where, and whether its kind is Internal.
type declared struct {
	code     string
	pos      string
	internal bool
}

// declaredCodes walks every non-test Go file of the module under root (architecture.WalkGoFiles) and returns the
// code of each failure.New call (the package imported under any name). A code that is not a string literal is
// reported as a test error: the check could not see it.
func declaredCodes(t *testing.T, root string) []declared {
	t.Helper()
	var out []declared
	err := architecture.WalkGoFiles(os.DirFS(root), func(rel string, src []byte) error {
		if strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		name := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == failurePath {
				name = "failure"
				if imp.Name != nil {
					name = imp.Name.Name
				}
			}
		}
		if name == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 3 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "New" {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != name {
				return true
			}
			p := fset.Position(call.Pos())
			pos := rel + ":" + strconv.Itoa(p.Line)
			lit, _ := call.Args[1].(*ast.BasicLit)
			code, err := strconv.Unquote(litValue(lit))
			if lit == nil || lit.Kind != token.STRING || err != nil {
				t.Errorf("%s: the code of failure.New is not a string literal: the message check cannot see it", pos)
				return true
			}
			kind, _ := call.Args[0].(*ast.SelectorExpr)
			out = append(out, declared{code: code, pos: pos, internal: kind != nil && kind.Sel.Name == "Internal"})
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func litValue(lit *ast.BasicLit) string {
	if lit == nil {
		return ""
	}
	return lit.Value
}

// shared are the codes that two sentinels declare on purpose, and so share one sentence.
var shared = map[string]bool{
	"auth.invalid_credentials": true, // a member's and a staff member's failed login (domain/member, domain/staff)
}

// kindCodes are the codes of the kinds: failure.CodeOf answers them for an error classified without a code.
func kindCodes() []string {
	var out []string
	for k := failure.Internal; !strings.HasPrefix(k.String(), "kind("); k++ {
		out = append(out, k.String())
	}
	return out
}

// TestEveryCodeHasAMessage: every code the module declares with failure.New (but Internal ones, which people never
// see: the HTTP layer answers "internal") and every kind's code has its French sentence, and every sentence's code
// is still declared somewhere.
func TestEveryCodeHasAMessage(t *testing.T) {
	root, err := architecture.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	codes := declaredCodes(t, root)
	if len(codes) < 150 {
		t.Fatalf("found only %d failure.New calls: is the walk broken?", len(codes))
	}
	exists := map[string]bool{}
	var missing []string
	for _, k := range kindCodes() {
		exists[k] = true
		if _, ok := FR(k); !ok {
			missing = append(missing, k+" (the kind "+k+")")
		}
	}
	for _, d := range codes {
		exists[d.code] = true
		if _, ok := FR(d.code); !ok && !d.internal {
			missing = append(missing, d.code+" (declared at "+d.pos+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no French sentence in fr.tsv for %s", m)
	}
	where := map[string][]string{}
	for _, d := range codes {
		where[d.code] = append(where[d.code], d.pos)
	}
	for code, at := range where {
		if len(at) > 1 && !shared[code] {
			t.Errorf("%s is declared %d times (%s): one sentinel per code, or list it in shared", code, len(at),
				strings.Join(at, ", "))
		}
	}
	for _, c := range Codes() {
		if !exists[c] {
			t.Errorf("fr.tsv has a sentence for %s, which no failure.New declares any more: remove it", c)
		}
	}
}

// TestSentences: each sentence is one a person can read: UTF-8, a capital first, a full stop last, no code in it.
func TestSentences(t *testing.T) {
	for _, c := range Codes() {
		m, _ := FR(c)
		r, _ := utf8.DecodeRuneInString(m)
		if !utf8.ValidString(m) || !unicode.IsUpper(r) || !strings.HasSuffix(m, ".") || len(m) < 15 ||
			strings.Contains(m, c) {
			t.Errorf("%s: %q is not a sentence for people", c, m)
		}
	}
}

func TestParse(t *testing.T) {
	m, err := parse("# comment\n\na.b\tUne phrase.\r\nc.d\t Une autre phrase. \n")
	if err != nil || len(m) != 2 || m["a.b"] != "Une phrase." || m["c.d"] != "Une autre phrase." {
		t.Fatalf("parse = %v, %v", m, err)
	}
	for _, bad := range []string{"a.b Une phrase.", "a.b\t", "\tUne phrase.", "a b\tUne phrase.", "a\tUne.\na\tDeux."} {
		if _, err := parse(bad); err == nil {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}
