package architecture_test

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/msa-dossier/dossier/tests/architecture"
)

// TestModuleFollowsTheDependencyRules is the check itself, on this repository.
func TestModuleFollowsTheDependencyRules(t *testing.T) {
	root, err := architecture.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	violations, err := architecture.Check(os.DirFS(root))
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, v := range violations {
		t.Errorf("%s", v)
	}
}

const module = "example.com/dossier"

func file(src string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(src)} }

// A synthetic module breaking every rule once, next to files that must pass.
func syntheticModule() fstest.MapFS {
	return fstest.MapFS{
		"go.mod": file("module " + module + "\n\ngo 1.26\n"),

		// domain
		"domain/member/member.go": file(`package member
import (
	"errors"
	"github.com/google/uuid"
	"example.com/dossier/domain/event"
)
var _ = errors.New
var _ uuid.UUID
var _ event.X
`),
		"domain/member/store.go": file(`package member
import (
	"database/sql"
	"github.com/jmoiron/sqlx"
	"example.com/dossier/adapters/sqldb"
)
var _ *sql.DB
var _ *sqlx.DB
var _ sqldb.DB
`),
		"domain/member/http_test.go": file(`package member
import "net/http/httptest"
var _ = httptest.NewRecorder
`),

		// projections
		"projections/members/projector.go": file(`package members
import (
	"github.com/jmoiron/sqlx"
	esdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/ThreeDotsLabs/watermill/message"
	"example.com/dossier/adapters/kurrentdb"
	"example.com/dossier/domain/member"
	"example.com/dossier/adapters/sqldb"
)
`),
		"projections/members/projector_test.go": file(`package members
import "example.com/dossier/adapters/kurrentdb"
`),

		// adapters
		"adapters/httpapi/server.go": file(`package httpapi
import (
	"example.com/dossier/cmd/dossier/config"
	"example.com/dossier/tests/contract"
	"example.com/dossier/domain/command"
)
`),
		"adapters/kurrentdb/store_test.go": file(`package kurrentdb
import "example.com/dossier/tests/contract"
`),

		// environment
		"adapters/mail/smtp.go": file(`package mail
import (
	"os"
	env "syscall"
	. "os"
)
func host() string { return os.Getenv("SMTP_HOST") }
func port() (string, bool) { v, ok := env.Getenv("SMTP_PORT"); return v, ok }
var all = Environ
func dir() string { return os.TempDir() }
`),
		"adapters/mail/smtp_test.go": file(`package mail
import "os"
var _ = os.Getenv("CI")
`),
		"cmd/dossier/main.go": file(`package main
import "os"
func main() { _ = os.Getenv("KURRENTDB_URL") }
`),
		"tests/testenv/main.go": file(`package main
import "os"
func main() { _ = os.Environ() }
`),

		// test-support packages
		"adapters/sqldb/sqldbtest/sqldbtest.go": file(`package sqldbtest
import "os"
var url = os.Getenv("DOSSIER_TEST_POSTGRES_URL")
`),
		"adapters/blob/blob.go": file(`package blob
import "example.com/dossier/adapters/sqldb/sqldbtest"
`),
		"adapters/blob/blob_test.go": file(`package blob
import "example.com/dossier/adapters/sqldb/sqldbtest"
`),
		"tests/acceptance/helpers.go": file(`package acceptance
import "example.com/dossier/adapters/sqldb/sqldbtest"
`),

		// never read
		"domain/member/testdata/bad.go":       file(`package x; import "github.com/lib/pq"`),
		".scratch/bad.go":                     file(`package x; import "os"; var _ = os.Getenv("X")`),
		"tools/nested/go.mod":                 file("module other\n"),
		"tools/nested/main.go":                file(`package main; import "os"; func main() { os.Getenv("X") }`),
		"projections/members/schema/0001.sql": file("CREATE TABLE x (id INT);"),
	}
}

func TestCheckerCatchesEachViolation(t *testing.T) {
	violations, err := architecture.Check(syntheticModule())
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	var got []string
	for _, v := range violations {
		got = append(got, v.String())
	}
	want := []string{
		`adapters/blob/blob.go:2: ` + architecture.RuleTestSupportImports + `: imports "example.com/dossier/adapters/sqldb/sqldbtest"`,
		`adapters/httpapi/server.go:3: ` + architecture.RuleAdapterImports + `: imports "example.com/dossier/cmd/dossier/config"`,
		`adapters/httpapi/server.go:4: ` + architecture.RuleAdapterImports + `: imports "example.com/dossier/tests/contract"`,
		`adapters/mail/smtp.go:7: ` + architecture.RuleEnvironment + `: uses os.Getenv`,
		`adapters/mail/smtp.go:8: ` + architecture.RuleEnvironment + `: uses syscall.Getenv`,
		`adapters/mail/smtp.go:9: ` + architecture.RuleEnvironment + `: uses Environ (dot-imported)`,
		`domain/member/http_test.go:2: ` + architecture.RuleDomainImports + `: imports "net/http/httptest"`,
		`domain/member/store.go:3: ` + architecture.RuleDomainImports + `: imports "database/sql"`,
		`domain/member/store.go:4: ` + architecture.RuleDomainImports + `: imports "github.com/jmoiron/sqlx"`,
		`domain/member/store.go:5: ` + architecture.RuleDomainImports + `: imports "example.com/dossier/adapters/sqldb"`,
		`projections/members/projector.go:4: ` + architecture.RuleProjectionImports + `: imports "github.com/EventStore/EventStore-Client-Go/v4/esdb"`,
		`projections/members/projector.go:5: ` + architecture.RuleProjectionImports + `: imports "github.com/ThreeDotsLabs/watermill/message"`,
		`projections/members/projector.go:6: ` + architecture.RuleProjectionImports + `: imports "example.com/dossier/adapters/kurrentdb"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("violations:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckerFailsOnAFileThatDoesNotParse(t *testing.T) {
	fsys := fstest.MapFS{
		"go.mod":            file("module " + module + "\n"),
		"domain/x/x.go":     file("package x\nimport (\n"),
		"domain/x/other.go": file("package x\n"),
	}
	if _, err := architecture.Check(fsys); err == nil || !strings.Contains(err.Error(), "domain/x/x.go") {
		t.Fatalf("err = %v, want a parse error naming the file", err)
	}
}

func TestCheckerNeedsAModule(t *testing.T) {
	if _, err := architecture.Check(fstest.MapFS{"domain/x/x.go": file("package x\n")}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a missing go.mod", err)
	}
	if p, err := architecture.ModulePath(syntheticModule()); err != nil || p != module {
		t.Fatalf("ModulePath = %q, %v", p, err)
	}
}
