package auditlog

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/domain/event"
)

// Records delivers every non-system event of $all in commit order, as stored, to fn.
type Records func(ctx context.Context, fn func(event.Record) error) error

// ReadAll is the Records of an event store: $all read forwards through the official client, in pages, without the
// store's own events ("$" types).
func ReadAll(client *kurrentdb.Client) Records {
	return func(ctx context.Context, fn func(event.Record) error) error {
		return client.ReadAll(ctx, "auditlog.ReadAll", false, 0, 4096, fn)
	}
}

// StoredLeaves are the leaves the read model recorded (projections/audittree.Queries.Leaves): Verify compares them
// with the log to name the first leaf that differs.
type StoredLeaves func(ctx context.Context, from int64, fn func(leaf int64, commit uint64, hash tlog.Hash) (bool, error)) error

// Problem is one thing Verify found wrong.
type Problem struct {
	// Leaf is the first leaf concerned (-1: none in particular); Position its commit position in the log as it reads
	// now (0 when the log has no such leaf).
	Leaf     int64
	Position uint64
	Reason   string
	// Exact is true when Leaf is the very leaf that differs (compared one by one with the read model's tree), false
	// when it only starts the range a broken head covers.
	Exact bool
}

func (p Problem) String() string {
	if p.Leaf < 0 {
		return p.Reason
	}
	return fmt.Sprintf("leaf %d, position %d: %s", p.Leaf, p.Position, p.Reason)
}

// Report is what Verify found.
type Report struct {
	Leaves   int64 // leaves recomputed from the log
	Heads    int   // signed heads found in the log
	Verified int   // heads whose signature, root and consistency with the previous one verified
	Latest   *Head // the last head that verified
	// Unsigned counts the leaves after the last head that verified: not covered by any signature yet.
	Unsigned int64
	Problems []Problem
}

// OK reports whether nothing is wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// First returns the first position that differs: the exact leaf when the read model's tree named it, else the
// lowest leaf of the problems.
func (r *Report) First() (Problem, bool) {
	var best Problem
	found := false
	for _, p := range r.Problems {
		better := !found || (p.Exact && !best.Exact) || (p.Exact == best.Exact && p.Leaf < best.Leaf)
		if p.Leaf >= 0 && better {
			best, found = p, true
		}
	}
	return best, found
}

// memTree is a tree kept in memory: its stored hashes and every leaf's commit position (about 72 bytes a leaf:
// 1 M events take about 72 MB).
type memTree struct {
	hashes  []tlog.Hash
	commits []uint64
}

func (m *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("auditlog: stored hash %d out of range", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) size() int64 { return int64(len(m.commits)) }

func (m *memTree) add(l Leaf) error {
	stored, err := tlog.StoredHashesForRecordHash(m.size(), l.Hash(), m)
	if err != nil {
		return err
	}
	m.hashes = append(m.hashes, stored...)
	m.commits = append(m.commits, l.Commit)
	return nil
}

func (m *memTree) leafHash(n int64) tlog.Hash { return m.hashes[tlog.StoredHashIndex(0, n)] }

// Verify recomputes the tree from records (the event store, ReadAll) and checks every signed head in it with v: its
// signature, its root against the recomputed tree, the position of its last leaf, and its consistency with the
// previous head (tlog.ProveTree/CheckTree). With stored (the read model's leaves; may be nil) it also compares every
// leaf the read model recorded with the log, which names the first leaf that differs; without it, a head that does
// not match names the range of leaves since the previous good head. The report lists every problem; an error is
// returned only when the check could not run.
func Verify(ctx context.Context, records Records, v *Verifier, stored StoredLeaves) (*Report, error) {
	return VerifyKept(ctx, records, v, stored, nil)
}

// VerifyKept is Verify, then checks the log against heads kept outside it (signed notes an auditor copied from
// `dossier audit heads`, or a bundle's header): each must be signed with v's key and its tree must be the log's
// first leaves. A head kept outside catches what the log alone cannot: an insider who rewrites the log and removes
// the signed heads that covered the change (the heads are events of the log too) leaves a log whose remaining
// heads all verify, but whose tree no longer has the kept head's root.
func VerifyKept(ctx context.Context, records Records, v *Verifier, stored StoredLeaves, kept []string) (*Report, error) {
	rep := &Report{}
	m := &memTree{}
	var prev *Head // last head that verified
	var prevSigned *Head
	// Reading (gRPC, protobuf) and hashing overlap: the records come through a buffered channel.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed := make(chan event.Record, 4096)
	readErr := make(chan error, 1)
	go func() {
		defer close(feed)
		readErr <- records(ctx, func(r event.Record) error {
			select {
			case feed <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var err error
	for r := range feed {
		leaf := LeafOf(r)
		if r.Type == HeadSignedType && r.Stream == HeadStream.String() {
			rep.Heads++
			if p := checkHead(m, v, r, prev, prevSigned); p != nil {
				rep.Problems = append(rep.Problems, *p)
			} else {
				h, _ := unverifiedHeadOf(r.Data)
				prev = &h
				rep.Verified++
			}
			if h, err := unverifiedHeadOf(r.Data); err == nil {
				prevSigned = &h
			}
		}
		if err = m.add(leaf); err != nil {
			cancel()
			break
		}
	}
	for range feed { // drain after an early stop, so the reader ends
	}
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	rep.Leaves = m.size()
	for _, note := range kept {
		if p := checkKept(m, v, note); p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
	}
	if prev != nil {
		rep.Latest = prev
		rep.Unsigned = m.size() - prev.Size
	} else {
		rep.Unsigned = m.size()
	}
	if stored != nil {
		if p, err := compareStored(ctx, m, stored); err != nil {
			return nil, err
		} else if p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
	}
	return rep, nil
}

func unverifiedHeadOf(data []byte) (Head, error) {
	ev, err := decodeHeadSigned(data)
	if err != nil {
		return Head{}, err
	}
	return unverifiedHead(ev.Note)
}

// checkHead checks the head event r against the tree m of the leaves before it; prev is the last head that verified,
// prevSigned the last head read (verified or not).
func checkHead(m *memTree, v *Verifier, r event.Record, prev, prevSigned *Head) *Problem {
	at := m.size() // the head event's own leaf
	problem := func(leaf int64, reason string, args ...any) *Problem {
		p := &Problem{Leaf: leaf, Reason: fmt.Sprintf(reason, args...)}
		if leaf >= 0 && leaf < m.size() {
			p.Position = m.commits[leaf]
		} else if leaf == at {
			p.Position = r.Position
		}
		return p
	}
	ev, err := decodeHeadSigned(r.Data)
	if err != nil {
		return problem(at, "signed head event: %v", err)
	}
	h, err := v.Open(ev.Note)
	if err != nil {
		return problem(at, "signed head: %v", err)
	}
	if h.Size > m.size() || h.Size <= 0 {
		return problem(at, "signed head of %d leaves, but only %d leaves precede it", h.Size, m.size())
	}
	if prevSigned != nil && h.Size < prevSigned.Size {
		return problem(at, "signed head of %d leaves after one of %d: the log shrank", h.Size, prevSigned.Size)
	}
	from := int64(0)
	if prev != nil {
		// The head must extend the last good one: a consistency proof of the previous tree in this one, built from
		// the log as it reads now, must link the two signed roots. It fails when anything after the previous head's
		// leaves changed (or the head was forged), and then leaves 0 to prev.Size-1 are known good.
		from = prev.Size
		proof, err := tlog.ProveTree(h.Size, prev.Size, m)
		if err == nil {
			err = tlog.CheckTree(proof, h.Size, h.Root, prev.Size, prev.Root)
		}
		if err != nil {
			return problem(from, "the signed head of %d leaves (at position %d) is not consistent with the previous head of %d leaves "+
				"over this log: the log differs somewhere in leaves %d to %d", h.Size, r.Position, prev.Size, from, h.Size-1)
		}
	}
	root, err := tlog.TreeHash(h.Size, m)
	if err != nil {
		return problem(at, "tree hash: %v", err)
	}
	if root != h.Root {
		return problem(from, "the log differs from the signed head of %d leaves (at position %d) somewhere in leaves %d to %d",
			h.Size, r.Position, from, h.Size-1)
	}
	if got := m.commits[h.Size-1]; got != h.LastCommit {
		return problem(h.Size-1, "the signed head of %d leaves ends at position %d, the log's leaf is at %d", h.Size, h.LastCommit, got)
	}
	return nil
}

// checkKept checks a head kept outside the log against the tree m recomputed from it.
func checkKept(m *memTree, v *Verifier, note string) *Problem {
	h, err := v.Open(note)
	if err != nil {
		return &Problem{Leaf: -1, Reason: fmt.Sprintf("a kept head: %v", err)}
	}
	switch {
	case h.Size <= 0:
		return &Problem{Leaf: -1, Reason: fmt.Sprintf("a kept head of %d leaves", h.Size)}
	case h.Size > m.size():
		return &Problem{Leaf: m.size(), Reason: fmt.Sprintf("the kept head of %d leaves (up to position %d, signed %s) is beyond the log, "+
			"which has %d leaves: the log lost events", h.Size, h.LastCommit, h.At.Format(time.RFC3339), m.size())}
	}
	root, err := tlog.TreeHash(h.Size, m)
	if err != nil {
		return &Problem{Leaf: -1, Reason: fmt.Sprintf("a kept head: tree hash: %v", err)}
	}
	if root != h.Root || m.commits[h.Size-1] != h.LastCommit {
		return &Problem{Leaf: 0, Position: m.commits[0], Reason: fmt.Sprintf("the log differs from the kept head of %d leaves "+
			"(up to position %d, signed %s) somewhere in leaves 0 to %d", h.Size, h.LastCommit, h.At.Format(time.RFC3339), h.Size-1)}
	}
	return nil
}

// compareStored compares the read model's leaves with the recomputed ones and returns the first difference.
func compareStored(ctx context.Context, m *memTree, stored StoredLeaves) (*Problem, error) {
	var found *Problem
	n := int64(0)
	err := stored(ctx, 0, func(leaf int64, commit uint64, hash tlog.Hash) (bool, error) {
		if leaf != n {
			found = &Problem{Leaf: n, Reason: fmt.Sprintf("the audit tree's leaf %d is missing", n)}
			return false, nil
		}
		n++
		if leaf >= m.size() {
			found = &Problem{Leaf: leaf, Reason: fmt.Sprintf("the audit tree recorded leaf %d at position %d, the log has only %d leaves", leaf, commit, m.size())}
			return false, nil
		}
		if m.commits[leaf] != commit || m.leafHash(leaf) != hash {
			found = &Problem{Leaf: leaf, Position: m.commits[leaf], Exact: true, Reason: fmt.Sprintf(
				"the event differs from the one the audit tree recorded (recorded at position %d)", commit)}
			return false, nil
		}
		return true, nil
	})
	return found, err
}
