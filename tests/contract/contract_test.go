package contract

import (
	"flag"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/tests/testbin"
)

func TestMain(m *testing.M) {
	flag.Parse()
	raiseParallel()
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}

// raiseParallel lifts the default -parallel (GOMAXPROCS, 2 on our machines) when it was not set explicitly: the idle
// checks spend a minute waiting, and with two slots they would hold both and push everything else after them.
func raiseParallel() {
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			set = true
		}
	})
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
}

func TestEmbeddedOnDisk(t *testing.T) {
	t.Parallel()
	Run(t, embedded(false))
}

func TestEmbeddedInMemory(t *testing.T) {
	t.Parallel()
	Run(t, embedded(true))
}

// TestKurrentDB runs the contract against a real KurrentDB, e.g.
// KURRENTDB_URL='esdb://127.0.0.1:2113?tls=false' go test ./tests/contract -run TestKurrentDB
func TestKurrentDB(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL not set: real KurrentDB contract run skipped")
	}
	t.Parallel()
	Run(t, Harness{
		Name:  "kurrentdb",
		Start: func(testing.TB) *Store { return &Store{ConnString: url} },
	})
}

// embedded is the harness of the embedded node; each Start is a fresh node (a fresh directory on disk).
func embedded(inMemory bool) Harness {
	name := "embedded node on disk"
	if inMemory {
		name = "embedded node in memory"
	}
	return Harness{
		Name:         name,
		Capabilities: Capabilities{Private: true, StrictInput: true},
		Start: func(t testing.TB) *Store {
			t.Helper()
			var dir string
			if !inMemory {
				dir = t.TempDir()
			}
			n, err := kurrentnode.Start(kurrentnode.Options{Dir: dir, InMemory: inMemory})
			if err != nil {
				t.Fatalf("start %s: %v", name, err)
			}
			var mu sync.Mutex
			current := n
			t.Cleanup(func() {
				mu.Lock()
				defer mu.Unlock()
				if current != nil {
					closeNode(t, current)
				}
			})
			st := &Store{ConnString: n.ConnectionString()}
			if inMemory {
				return st
			}
			addr := n.Addr()
			st.Restart = func(t testing.TB) string {
				t.Helper()
				mu.Lock()
				defer mu.Unlock()
				closeNode(t, current)
				current = nil
				n, err := kurrentnode.Start(kurrentnode.Options{Listen: addr, Dir: dir})
				if err != nil {
					t.Fatalf("restart %s on %s: %v", name, addr, err)
				}
				current = n
				return n.ConnectionString()
			}
			return st
		},
	}
}

// closeNode closes a node and reports a Close that fails or hangs (it must end open subscriptions itself).
func closeNode(t testing.TB, n *kurrentnode.Node) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- n.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("close node: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("close node: still running after 15s (open subscriptions must be ended by Close)")
	}
}
