package depcheck_test

import (
	"errors"
	"io"
	"testing"

	"github.com/msa-dossier/dossier/adapters/depcheck"
)

type deps struct {
	DB     *int
	Writer io.Writer
	Now    func() int
	Batch  int
}

// TestCheckJoinsEveryProblem: every missing dependency and every problem is reported, in order, at once.
func TestCheckJoinsEveryProblem(t *testing.T) {
	var d deps
	d.Batch = -1
	var nilPointer *int
	err := depcheck.New("casework:").Require("DB", d.DB).Require("Writer", d.Writer).Require("Now", d.Now).
		Require("Typed", nilPointer).Problem(d.Batch < 0, "Batch must not be negative").Err()
	want := "casework: DB is required\ncasework: Writer is required\ncasework: Now is required\n" +
		"casework: Typed is required\ncasework: Batch must not be negative"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	n := 1
	d = deps{DB: &n, Writer: io.Discard, Now: func() int { return 0 }}
	if err := depcheck.New("x:").Require("DB", d.DB).Require("Writer", d.Writer).Require("Now", d.Now).
		Add(nil).Err(); err != nil {
		t.Fatalf("err = %v", err)
	}
	boom := errors.New("boom")
	if err := new(depcheck.Check).Add(boom).Err(); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}
