// Package testbin builds the dossier binary once per test process, for tests that run it as a child process
// (the contract suite's crash test, the acceptance tests).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
)

// Dossier returns the path of a freshly built ./cmd/dossier, building it on the first call. The binary lives
// in a temporary directory shared by every test of the process; TestMain removes it with Remove.
func Dossier(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		out, e := exec.Command("go", "env", "GOMOD").Output()
		if e != nil {
			err = fmt.Errorf("go env GOMOD: %w", e)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		dir, e := os.MkdirTemp("", "dossier-bin-")
		if e != nil {
			err = e
			return
		}
		path = filepath.Join(dir, "dossier")
		cmd := exec.Command("go", "build", "-o", path, "./cmd/dossier")
		cmd.Dir = root
		if out, e := cmd.CombinedOutput(); e != nil {
			err = fmt.Errorf("go build ./cmd/dossier in %s: %w\n%s", root, e, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Remove deletes the built binary; call it from TestMain after m.Run.
func Remove() {
	if path != "" {
		_ = os.RemoveAll(filepath.Dir(path))
	}
}
