package auditlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/domain/failure"
)

// BundleFormat names the bundle format in its header line.
const BundleFormat = "dossier-audit-bundle-v1"

// A bundle is JSON Lines: first a header, then one line per event.
//
//	{"bundle":"dossier-audit-bundle-v1","key_id":"dossier-audit+1a2b3c4d","signed_head":"<signed note>"}
//	{"leaf_index":17,"stored":{<Leaf>},"proof":["<base64 hash>",…]}
//
// signed_head is a signed tree head (Head.Text, a blank line, the signature line: sumdb/note's format); each line's
// proof is the inclusion proof (tlog.ProveRecord) of its leaf in the tree of that head, and its leaf hash is
// tlog.RecordHash(stored.Encode()). Other members of a line are ignored by Check, so an export may carry the decoded
// event beside "stored" in the same line.

// Header is a bundle's first line.
type Header struct {
	Bundle     string `json:"bundle"`
	KeyID      string `json:"key_id"`
	SignedHead string `json:"signed_head"`
}

// Line is one proven event of a bundle.
type Line struct {
	LeafIndex int64       `json:"leaf_index"`
	Stored    Leaf        `json:"stored"`
	Proof     []tlog.Hash `json:"proof"`
}

// Bundle is what Prove returns: write it with WriteTo, or merge Header and Lines into an export of your own.
type Bundle struct {
	Header Header
	Head   Head
	Lines  []Line // in the order of the leaves given to Prove
}

// WriteTo writes the bundle as JSON Lines.
func (b *Bundle) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	enc := json.NewEncoder(cw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b.Header); err != nil {
		return cw.n, err
	}
	for i := range b.Lines {
		if err := enc.Encode(&b.Lines[i]); err != nil {
			return cw.n, err
		}
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ProveWait bounds how long Prove waits for the tree to reach the leaves it is given.
var ProveWait = 10 * time.Second

// Prove returns the bundle of leaves (events read from the store, in any order): the latest signed head and, per
// leaf, its index and inclusion proof in that head's tree. When the latest head does not cover every leaf, it signs a
// new one if the log has a key (ErrNoHead otherwise); it waits up to ProveWait for the tree to reach the leaves
// (ErrTreeBehind after).
func (l *Log) Prove(ctx context.Context, leaves []Leaf) (*Bundle, error) {
	var maxCommit uint64
	commits := make([]uint64, len(leaves))
	for i, lf := range leaves {
		commits[i], maxCommit = lf.Commit, max(maxCommit, lf.Commit)
	}
	deadline := time.Now().Add(ProveWait)
	for {
		_, last, _, err := l.tree.Size(ctx)
		if err != nil {
			return nil, err
		}
		if last >= maxCommit {
			break
		}
		if time.Now().After(deadline) {
			return nil, ErrTreeBehind
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	head, found, err := l.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if !found || head.LastCommit < maxCommit {
		if l.key == nil {
			return nil, ErrNoHead
		}
		if head, _, err = l.Sign(ctx); err != nil {
			return nil, err
		}
	}
	index, err := l.tree.LeafIndexes(ctx, commits)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Header: Header{Bundle: BundleFormat, KeyID: head.KeyID, SignedHead: head.Note}, Head: head.Head}
	r := l.tree.Hashes(ctx)
	for _, lf := range leaves {
		n, ok := index[lf.Commit]
		if !ok || n >= head.Size {
			return nil, fmt.Errorf("auditlog: the event at position %d is not in the tree of the head: %w", lf.Commit, ErrTreeBehind)
		}
		p, err := tlog.ProveRecord(head.Size, n, r)
		if err != nil {
			return nil, fmt.Errorf("auditlog: prove leaf %d: %w", n, err)
		}
		b.Lines = append(b.Lines, Line{LeafIndex: n, Stored: lf, Proof: p})
	}
	return b, nil
}

// Errors of Check.
var (
	ErrBadBundle    = failure.New(failure.Invalid, "audit.bad_bundle", "auditlog: the file is not an audit bundle")
	ErrLeafMismatch = failure.New(failure.Invalid, "audit.leaf_not_proven", "auditlog: an event of the bundle is not in the signed tree")
)

// CheckResult is what Check verified.
type CheckResult struct {
	Head   Head
	KeyID  string
	Events int
}

// maxLine bounds one line of a bundle (an event holds at most 16 MiB; its JSON a third more).
const maxLine = 32 << 20

// Check verifies a bundle offline with a public key: the head's signature, then every line's leaf hash against its
// inclusion proof in the signed tree. It stops at the first failure, naming the line and the event's position.
func Check(r io.Reader, v *Verifier) (CheckResult, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return CheckResult{}, fmt.Errorf("%w: line 1: %v", ErrBadBundle, err)
		}
		return CheckResult{}, fmt.Errorf("%w: empty file", ErrBadBundle)
	}
	var h Header
	if err := strictJSON(sc.Bytes(), &h); err != nil || h.Bundle != BundleFormat ||
		exactKeys(sc.Bytes(), "", "bundle", "key_id", "signed_head") != nil {
		return CheckResult{}, fmt.Errorf("%w: line 1 is not a %s header", ErrBadBundle, BundleFormat)
	}
	if h.KeyID != v.KeyID() {
		return CheckResult{}, fmt.Errorf("%w: the bundle names key %q, the public key given is %q", ErrWrongKey, h.KeyID, v.KeyID())
	}
	head, err := v.Open(h.SignedHead)
	if err != nil {
		return CheckResult{}, fmt.Errorf("line 1: %w", err)
	}
	res := CheckResult{Head: head, KeyID: h.KeyID}
	for lineNo := 2; sc.Scan(); lineNo++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var ln Line
		if err := json.Unmarshal(sc.Bytes(), &ln); err != nil {
			return res, fmt.Errorf("%w: line %d: %v", ErrBadBundle, lineNo, err)
		}
		if err := exactKeys(sc.Bytes(), "stored", "leaf_index", "stored", "proof"); err != nil {
			return res, fmt.Errorf("%w: line %d: %v", ErrBadBundle, lineNo, err)
		}
		if ln.LeafIndex < 0 || ln.LeafIndex >= head.Size {
			return res, fmt.Errorf("%w: line %d (position %d): leaf %d is outside the signed tree of %d leaves",
				ErrLeafMismatch, lineNo, ln.Stored.Commit, ln.LeafIndex, head.Size)
		}
		if err := tlog.CheckRecord(ln.Proof, head.Size, head.Root, ln.LeafIndex, ln.Stored.Hash()); err != nil {
			return res, fmt.Errorf("%w: line %d (position %d, leaf %d): %v", ErrLeafMismatch, lineNo, ln.Stored.Commit,
				ln.LeafIndex, err)
		}
		res.Events++
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("%w: %v", ErrBadBundle, err)
	}
	return res, nil
}

// leafKeys are the JSON names of Leaf's fields.
var leafKeys = []string{"commit", "prepare", "stream", "revision", "id", "type", "data", "metadata"}

// exactKeys checks that the JSON object b holds each of want under exactly that name (encoding/json would match a
// name in another case, so a changed letter would go unseen), and, when nested is one of them, that the object
// under it holds Leaf's names exactly. Other members are allowed (an export may carry more) unless they differ from
// a wanted name only by case.
func exactKeys(b []byte, nested string, want ...string) error {
	check := func(b []byte, want []string) (map[string]json.RawMessage, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		for _, w := range want {
			if _, ok := m[w]; !ok {
				return nil, fmt.Errorf("no %q member", w)
			}
		}
		for k := range m {
			for _, w := range want {
				if k != w && strings.EqualFold(k, w) {
					return nil, fmt.Errorf("member %q is not %q", k, w)
				}
			}
		}
		return m, nil
	}
	m, err := check(b, want)
	if err != nil || nested == "" {
		return err
	}
	leaf, err := check(m[nested], leafKeys)
	if err != nil {
		return err
	}
	// base64 is read leniently by encoding/json (unused low bits of a last character ignored): require the
	// canonical form, so that no byte of a proof or of the stored bytes can change unseen.
	var proof []string
	if err := json.Unmarshal(m["proof"], &proof); err != nil {
		return err
	}
	for _, name := range []string{"data", "metadata"} {
		var s *string
		if err := json.Unmarshal(leaf[name], &s); err != nil {
			return err
		}
		if s != nil {
			proof = append(proof, *s)
		}
	}
	for _, s := range proof {
		if _, err := base64.StdEncoding.Strict().DecodeString(s); err != nil {
			return fmt.Errorf("non-canonical base64 %q", s)
		}
	}
	return nil
}

// strictJSON decodes one JSON value and refuses trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}
