// Package architecture checks the dependency rules of the design notes (DESIGN.md, "Dependency rules") by reading the sources with go/parser (no
// build, no go list, so a half-written package elsewhere does not hide a violation):
//
//   - domain/... imports only the standard library (minus its infrastructure: database/sql, net and net/http
//     except the pure parsers net/mail and net/url, os/exec), github.com/google/uuid and other domain packages.
//     Its _test.go files may also import the module's adapters: the application layer (domain/command) is tested
//     against the real event store, as everything else is; aggregates themselves are tested pure;
//   - projections/... never imports the event-store client, watermill, or the adapters that wrap them
//     (adapters/kurrentdb, adapters/kurrentnode, adapters/messaging) or adapters/httpapi;
//   - adapters/... never imports cmd/... or tests/...;
//   - only cmd/... touches the environment (os.Getenv, os.LookupEnv, os.Environ, os.ExpandEnv, os.Setenv, …);
//   - test-support packages (a directory whose name ends in "test", such as adapters/sqldb/sqldbtest) are imported
//     only by tests: _test.go files, tests/... and other test-support packages.
//
// The last three rules concern what ships: _test.go files are exempt from them (a test may wire real adapters and
// read its environment), and test-support packages may read the environment. See Check.
package architecture

import (
	"bufio"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Violation is one broken rule at one place.
type Violation struct {
	File   string // slash-separated path from the module root
	Line   int
	Rule   string // short name of the rule
	Detail string // what was found, e.g. `imports "github.com/lib/pq"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", v.File, v.Line, v.Rule, v.Detail)
}

// Rule names, as reported in Violation.Rule.
const (
	RuleDomainImports      = "domain imports only the standard library, google/uuid and domain packages"
	RuleProjectionImports  = "projections never import the event-store client, watermill or their adapters"
	RuleAdapterImports     = "adapters never import cmd or tests"
	RuleEnvironment        = "only cmd reads the environment"
	RuleTestSupportImports = "test-support packages are imported only by tests"
)

// domainStdlibDenied is the part of the standard library that is infrastructure.
var domainStdlibDenied = []string{"database/sql", "net", "net/http", "os/exec"}

// domainStdlibAllowed are pure parsers under a denied tree.
var domainStdlibAllowed = []string{"net/mail", "net/url", "net/netip"}

var envFuncs = map[string][]string{
	"os":      {"Getenv", "LookupEnv", "Environ", "ExpandEnv", "Setenv", "Unsetenv", "Clearenv"},
	"syscall": {"Getenv", "Environ", "Setenv", "Unsetenv", "Clearenv"},
}

// ModulePath reads the module path from fsys's go.mod.
func ModulePath(fsys fs.FS) (string, error) {
	f, err := fsys.Open("go.mod")
	if err != nil {
		return "", fmt.Errorf("architecture: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", errors.New("architecture: go.mod has no module line")
}

// ModuleRoot returns the directory of the first go.mod found in dir or above it (tests pass ".", their package's
// directory).
func ModuleRoot(dir string) (string, error) {
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("architecture: %w", err)
	}
	dir = start
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("architecture: no go.mod in %s or above it", start)
		}
		dir = parent
	}
}

// WalkGoFiles calls fn, in lexical order, with the slash-separated path and the content of every Go file (tests
// included) of the module rooted at fsys, as the go command sees it: testdata, vendor, hidden and '_' directories
// and nested modules are skipped. An error from fn stops the walk and is returned. Check walks with it, and so does
// the test of domain/messages that finds every failure.New.
func WalkGoFiles(fsys fs.FS, fn func(path string, src []byte) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == "." {
				return nil
			}
			name := d.Name()
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return fs.SkipDir
			}
			if _, err := fs.Stat(fsys, path.Join(p, "go.mod")); err == nil {
				return fs.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return fn(p, src)
	})
}

// Check parses every Go file of the module rooted at fsys (WalkGoFiles) and returns the violations, ordered by file
// and line. A file that does not parse is an error.
func Check(fsys fs.FS) ([]Violation, error) {
	module, err := ModulePath(fsys)
	if err != nil {
		return nil, err
	}
	c := checker{module: module, fset: token.NewFileSet()}
	if err := WalkGoFiles(fsys, c.checkFile); err != nil {
		return nil, fmt.Errorf("architecture: %w", err)
	}
	slices.SortStableFunc(c.found, func(a, b Violation) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return c.found, nil
}

type checker struct {
	module string
	fset   *token.FileSet
	found  []Violation
}

func (c *checker) report(file string, pos token.Pos, rule, detail string) {
	c.found = append(c.found, Violation{File: file, Line: c.fset.Position(pos).Line, Rule: rule, Detail: detail})
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// isTestSupport reports whether a package directory holds test helpers by the naming convention (httptest, fstest).
func isTestSupport(dir string) bool {
	base := path.Base(dir)
	return len(base) > len("test") && strings.HasSuffix(base, "test")
}

func (c *checker) checkFile(file string, src []byte) error {
	f, err := parser.ParseFile(c.fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	dir := path.Dir(file)
	isTest := strings.HasSuffix(file, "_test.go")
	testSupport := isTestSupport(dir)
	internal := func(imp, sub string) bool { return within(imp, c.module+"/"+sub) }

	for _, spec := range f.Imports {
		imp, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return fmt.Errorf("%s: bad import %s", file, spec.Path.Value)
		}
		detail := fmt.Sprintf("imports %q", imp)
		switch {
		case within(dir, "domain"):
			stdlib := !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".")
			denied := slices.ContainsFunc(domainStdlibDenied, func(d string) bool { return within(imp, d) }) &&
				!slices.Contains(domainStdlibAllowed, imp)
			ok := (stdlib && !denied) || imp == "github.com/google/uuid" || internal(imp, "domain") ||
				(isTest && (internal(imp, "adapters") || !stdlib))
			if !ok {
				c.report(file, spec.Pos(), RuleDomainImports, detail)
			}
		case within(dir, "projections") && !isTest:
			if within(imp, "github.com/EventStore") || within(imp, "github.com/kurrent-io") ||
				strings.HasPrefix(imp, "github.com/ThreeDotsLabs/watermill") ||
				internal(imp, "adapters/kurrentdb") || internal(imp, "adapters/kurrentnode") ||
				internal(imp, "adapters/messaging") || internal(imp, "adapters/httpapi") {
				c.report(file, spec.Pos(), RuleProjectionImports, detail)
			}
		case within(dir, "adapters") && !isTest:
			if internal(imp, "cmd") || internal(imp, "tests") {
				c.report(file, spec.Pos(), RuleAdapterImports, detail)
			}
		}
		if !isTest && !testSupport && !within(dir, "tests") && within(imp, c.module) && isTestSupport(imp) {
			c.report(file, spec.Pos(), RuleTestSupportImports, detail)
		}
	}

	if !isTest && !testSupport && !within(dir, "cmd") && !within(dir, "tests") {
		c.checkEnvironment(file, f)
	}
	return nil
}

// checkEnvironment reports every reference to an environment function, called or not, through the package's local
// name (aliases and dot-imports included).
func (c *checker) checkEnvironment(file string, f *ast.File) {
	local := map[string]string{} // local name → package path
	dotted := map[string]bool{}  // function names reachable unqualified through a dot-import
	for _, spec := range f.Imports {
		imp, _ := strconv.Unquote(spec.Path.Value)
		if _, ok := envFuncs[imp]; !ok {
			continue
		}
		name := imp
		if spec.Name != nil {
			name = spec.Name.Name
		}
		if name == "." {
			for _, fn := range envFuncs[imp] {
				dotted[fn] = true
			}
			continue
		}
		local[name] = imp
	}
	if len(local) == 0 && len(dotted) == 0 {
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			if imp, ok := local[id.Name]; ok && slices.Contains(envFuncs[imp], n.Sel.Name) {
				c.report(file, n.Pos(), RuleEnvironment, fmt.Sprintf("uses %s.%s", imp, n.Sel.Name))
			}
			return false
		case *ast.Ident:
			if dotted[n.Name] {
				c.report(file, n.Pos(), RuleEnvironment, "uses "+n.Name+" (dot-imported)")
			}
		}
		return true
	})
}
