package auditlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/audittree"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// noted is a test event with a personal field (sealed under its subject's key).
type noted struct {
	Marker string `json:"marker" personal:"no"`
	Text   string `json:"text" personal:"yes"`
}

const notedType = "AuditTestNoted"

func testDefs() []event.Definition {
	return append(auditlog.Definitions(), event.Define[noted](notedType))
}

func testKey(t testing.TB, b byte) *auditlog.Key {
	t.Helper()
	k, err := auditlog.ParseKey(strings.Repeat(fmt.Sprintf("%02x", b), 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// world is a node on disk, a client, a read-model database with the audit tree and the key store, and the log.
type world struct {
	t      *testing.T
	dir    string
	db     *sqldb.DB
	keys   *keystore.Store
	node   *kurrentnode.Node
	client *kurrentdb.Client
	store  *kurrentdb.Store
	runner *projectionstest.Runner
	log    *auditlog.Log
	key    *auditlog.Key
	tree   *audittree.Queries
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, dir: t.TempDir(), key: testKey(t, 1)}
	w.db = sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	if err := keystore.Migrate(context.Background(), w.db); err != nil {
		t.Fatal(err)
	}
	ks, err := keystore.New(w.db, keystore.Config{KEK: bytes.Repeat([]byte{9}, keystore.KeySize), CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	w.keys = ks
	w.tree = audittree.NewQueries(w.db)
	w.start()
	return w
}

// start starts the node on the directory, connects, and runs the audit tree.
func (w *world) start() {
	t := w.t
	n, err := kurrentnode.Start(kurrentnode.Options{Dir: w.dir})
	if err != nil {
		t.Fatalf("start the node: %v", err)
	}
	w.node = n
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if w.client, err = kurrentdb.Connect(ctx, n.ConnectionString()); err != nil {
		t.Fatal(err)
	}
	reg, err := event.NewRegistry(testDefs())
	if err != nil {
		t.Fatal(err)
	}
	codec := kurrentdb.NewCodec(reg.WithSealer(w.keys))
	w.store = kurrentdb.NewStore(w.client, codec)
	w.runner = projectionstest.StartRunner(t, w.db, kurrentdb.NewSource(w.client, codec), audittree.New())
	w.log = auditlog.New(w.tree, w.store, w.key)
	t.Cleanup(w.stop)
}

func (w *world) stop() {
	if w.node == nil {
		return
	}
	w.runner.Stop(w.t)
	w.client.Close()
	w.node.Close()
	w.node = nil
}

// note appends a noted event to a stream of subject and returns its position.
func (w *world) note(subject uuid.UUID, marker string) uint64 {
	w.t.Helper()
	id := uuid.New()
	meta := event.Metadata{CorrelationID: id, CausationID: id, CommandID: id, Subject: subject,
		Actor: event.Actor{ID: "test", Role: event.RoleSystem}, OccurredAt: time.Now()}
	c, err := w.store.Append(context.Background(), event.NewStreamID("audittest", subject), esdb.Any{}, meta,
		noted{Marker: marker, Text: "Jeanne Martin, 12 rue des Lilas"})
	if err != nil {
		w.t.Fatal(err)
	}
	return c.Position
}

// sign waits for the tree to reach the head of the log and signs.
func (w *world) sign() auditlog.SignedHead {
	w.t.Helper()
	head, err := w.client.Head(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	w.runner.Wait(w.t, head)
	h, signed, err := w.log.Sign(context.Background())
	if err != nil || !signed {
		w.t.Fatalf("sign: %v (signed %v)", err, signed)
	}
	return h
}

func (w *world) verify() *auditlog.Report {
	w.t.Helper()
	rep, err := auditlog.Verify(context.Background(), auditlog.ReadAll(w.client), w.key.Verifier(), w.stored())
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

func (w *world) stored() auditlog.StoredLeaves {
	return func(ctx context.Context, from int64, fn func(int64, uint64, tlog.Hash) (bool, error)) error {
		return w.tree.Leaves(ctx, from, func(s audittree.Stored) (bool, error) { return fn(s.Leaf, s.Commit, s.Hash) })
	}
}

// scenario: three members' events, a head, more events, a second head, a few events not signed yet. It returns
// the position of each marked event.
func (w *world) scenario() map[string]uint64 {
	pos := map[string]uint64{}
	subjects := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for i := range 12 {
		m := fmt.Sprintf("m%02d", i)
		pos[m] = w.note(subjects[i%3], m)
	}
	w.sign()
	for i := 12; i < 20; i++ {
		m := fmt.Sprintf("m%02d", i)
		pos[m] = w.note(subjects[i%3], m)
	}
	w.sign()
	for i := 20; i < 23; i++ {
		m := fmt.Sprintf("m%02d", i)
		pos[m] = w.note(subjects[i%3], m)
	}
	return pos
}

func TestVerifyAcceptsAnUntouchedLog(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	rep := w.verify()
	if !rep.OK() || rep.Heads != 2 || rep.Verified != 2 || rep.Leaves != 25 || rep.Unsigned != 4 {
		t.Fatalf("report %+v", rep)
	}
	// The wrong key: every head is refused, by name.
	rep, err := auditlog.Verify(context.Background(), auditlog.ReadAll(w.client), testKey(t, 2).Verifier(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Verified != 0 || !strings.Contains(rep.Problems[0].Reason, "not signed by this public key") {
		t.Fatalf("wrong key: %+v", rep)
	}
}

// tamper stops the node, lets change rewrite its log, restarts it, and verifies.
func (w *world) tamper(change func(lf *logFile)) *auditlog.Report {
	w.t.Helper()
	w.stop()
	lf := readLog(w.t, w.dir)
	change(lf)
	lf.write(w.t, w.dir)
	w.start()
	return w.verify()
}

func wantFirst(t *testing.T, rep *auditlog.Report, position uint64) {
	t.Helper()
	first, ok := rep.First()
	if !ok || first.Position != position {
		t.Fatalf("first difference %+v (found %v), want position %d; report %+v", first, ok, position, rep)
	}
}

// TestVerifyFindsAnEventRewrittenInTheLog: an insider changes one byte of a stored event's data, with valid
// framing and checksums; the node starts, and verify names the event's position and the head it breaks.
func TestVerifyFindsAnEventRewrittenInTheLog(t *testing.T) {
	w := newWorld(t)
	pos := w.scenario()
	rep := w.tamper(func(lf *logFile) {
		gi, ri := lf.find(t, notedType, "m05")
		r := lf.groups[gi][ri]
		_, _, _, data, at := r.fields()
		i := bytes.Index(data, []byte("m05"))
		r.body[at+i+2] = '6' // "m05" becomes "m06"
	})
	wantFirst(t, rep, pos["m05"])
	if rep.Verified != 0 || !strings.Contains(rep.Problems[0].Reason, "differs from the signed head") {
		t.Fatalf("the first head still verifies: %+v", rep)
	}
}

// TestVerifyFindsARemovedEvent: the log is rewritten without one event (later positions move up).
func TestVerifyFindsARemovedEvent(t *testing.T) {
	w := newWorld(t)
	pos := w.scenario()
	rep := w.tamper(func(lf *logFile) {
		gi, ri := lf.find(t, notedType, "m14")
		lf.groups[gi] = append(lf.groups[gi][:ri], lf.groups[gi][ri+1:]...)
	})
	wantFirst(t, rep, pos["m14"])
	if rep.Verified != 1 {
		t.Fatalf("the first head, before the removed event, should still verify: %+v", rep)
	}
}

// TestVerifyFindsTwoEventsSwapped: two events of different streams change places.
func TestVerifyFindsTwoEventsSwapped(t *testing.T) {
	w := newWorld(t)
	pos := w.scenario()
	rep := w.tamper(func(lf *logFile) {
		g1, r1 := lf.find(t, notedType, "m07")
		g2, r2 := lf.find(t, notedType, "m08")
		lf.groups[g1][r1], lf.groups[g2][r2] = lf.groups[g2][r2], lf.groups[g1][r1]
	})
	wantFirst(t, rep, pos["m07"])
}

// TestVerifyWithoutTheReadModelNamesTheRangeOfTheBrokenHead: with no stored tree to compare with, verify still
// fails and names the leaves since the last good head.
func TestVerifyWithoutTheReadModelNamesTheRangeOfTheBrokenHead(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	w.stop()
	lf := readLog(t, w.dir)
	gi, ri := lf.find(t, notedType, "m15")
	lf.groups[gi][ri].body[len(lf.groups[gi][ri].body)-2] ^= 1
	lf.write(t, w.dir)
	w.start()
	rep, err := auditlog.Verify(context.Background(), auditlog.ReadAll(w.client), w.key.Verifier(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Verified != 1 || !strings.Contains(rep.Problems[0].Reason, "not consistent") ||
		!strings.Contains(rep.Problems[0].Reason, "leaves 12 to 20") {
		t.Fatalf("report %+v", rep)
	}
}

func leavesOf(t *testing.T, w *world, markers ...string) []auditlog.Leaf {
	t.Helper()
	var out []auditlog.Leaf
	err := auditlog.ReadAll(w.client)(context.Background(), func(r event.Record) error {
		for _, m := range markers {
			if r.Type == notedType && bytes.Contains(r.Data, []byte(`"`+m+`"`)) {
				out = append(out, auditlog.LeafOf(r))
			}
		}
		return nil
	})
	if err != nil || len(out) != len(markers) {
		t.Fatalf("leaves %d of %d: %v", len(out), len(markers), err)
	}
	return out
}

// TestBundleChecksOffline: a bundle proves its events against the signed head with the public key alone; one byte
// changed anywhere, or another key, fails with an error (never a panic).
func TestBundleChecksOffline(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	w.runner.Wait(t, mustHead(t, w))
	leaves := leavesOf(t, w, "m01", "m13", "m22") // the last one is after the latest head: Prove signs a new one
	b, err := w.log.Prove(context.Background(), leaves)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	res, err := auditlog.Check(bytes.NewReader(buf.Bytes()), w.key.Verifier())
	if err != nil || res.Events != 3 {
		t.Fatalf("check: %+v, %v", res, err)
	}
	if _, err := auditlog.Check(bytes.NewReader(buf.Bytes()), testKey(t, 2).Verifier()); !errors.Is(err, auditlog.ErrWrongKey) {
		t.Fatalf("another key: %v", err)
	}
	// Every byte changed, one at a time (a line's length and JSON kept or not): never accepted, never a panic.
	file := buf.Bytes()
	accepted := 0
	for i := range file {
		if file[i] == '\n' {
			continue
		}
		for _, delta := range []byte{1, 0x20} {
			changed := bytes.Clone(file)
			changed[i] ^= delta
			if _, err := auditlog.Check(bytes.NewReader(changed), w.key.Verifier()); err == nil {
				if isNeutral(file, changed) {
					continue
				}
				accepted++
				if accepted < 5 {
					t.Errorf("byte %d ^ %#x accepted: %q", i, delta, changed[max(0, i-20):min(len(changed), i+20)])
				}
			}
		}
	}
	if accepted > 0 {
		t.Fatalf("%d changed bundles accepted", accepted)
	}
}

// isNeutral reports whether changed holds the same values as file by a change of letter case alone: a hexadecimal
// letter of an id in upper case (uuid reads both) changes no value, so no proof. Every other change must fail.
func isNeutral(file, changed []byte) bool {
	dec := func(b []byte) []any {
		lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
		var h auditlog.Header
		if json.Unmarshal(lines[0], &h) != nil {
			return nil
		}
		out := []any{h}
		for _, l := range lines[1:] {
			var v auditlog.Line
			if json.Unmarshal(l, &v) != nil {
				return nil
			}
			out = append(out, v)
		}
		return out
	}
	a, c := dec(file), dec(changed)
	return a != nil && c != nil && reflect.DeepEqual(a, c) && bytes.EqualFold(file, changed)
}

func mustHead(t *testing.T, w *world) uint64 {
	h, err := w.client.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestErasureNeverBreaksAProof: erasing a member's key leaves the log verifying and the member's bundle checking,
// since leaves hash the sealed bytes as stored.
func TestErasureNeverBreaksAProof(t *testing.T) {
	w := newWorld(t)
	member := uuid.New()
	w.note(member, "before")
	w.note(uuid.New(), "other")
	w.sign()
	leaves := leavesOf(t, w, "before")
	if bytes.Contains(leaves[0].Data, []byte("Jeanne")) {
		t.Fatal("the personal field is not sealed in the stored event")
	}
	b, err := w.log.Prove(context.Background(), leaves)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.keys.Erase(context.Background(), member); err != nil {
		t.Fatal(err)
	}
	if rep := w.verify(); !rep.OK() || rep.Verified != 1 {
		t.Fatalf("after erasure: %+v", rep)
	}
	var buf bytes.Buffer
	b.WriteTo(&buf)
	if _, err := auditlog.Check(&buf, w.key.Verifier()); err != nil {
		t.Fatalf("bundle after erasure: %v", err)
	}
	again, err := w.log.Prove(context.Background(), leavesOf(t, w, "before"))
	if err != nil || again.Lines[0].Stored.Hash() != b.Lines[0].Stored.Hash() {
		t.Fatalf("proof after erasure: %v", err)
	}
}

var _ = projections.Prefix

// TestAKeptHeadCatchesHeadsRemovedFromTheLog: an insider removes an event and, to hide it, every signed head after
// it (and rebuilds the read model): the log alone then verifies, but a head an auditor kept outside it does not.
func TestAKeptHeadCatchesHeadsRemovedFromTheLog(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	heads, err := auditlog.Heads(context.Background(), w.store)
	if err != nil || len(heads) != 2 || heads[0].Size != 12 || heads[1].Size != 21 {
		t.Fatalf("heads %+v, %v", heads, err)
	}
	var kept []string
	for _, h := range heads {
		kept = append(kept, h.Note)
	}
	rep, err := auditlog.VerifyKept(context.Background(), auditlog.ReadAll(w.client), w.key.Verifier(), nil, kept)
	if err != nil || !rep.OK() {
		t.Fatalf("untouched log against its kept heads: %+v, %v", rep, err)
	}
	w.stop()
	lf := readLog(t, w.dir)
	gi, ri := lf.find(t, notedType, "m05")
	lf.groups[gi] = append(lf.groups[gi][:ri], lf.groups[gi][ri+1:]...)
	for _, size := range []string{`"size":12`, `"size":21`} {
		gi, ri := lf.find(t, auditlog.HeadSignedType, size)
		lf.groups[gi] = append(lf.groups[gi][:ri], lf.groups[gi][ri+1:]...)
	}
	lf.write(t, w.dir)
	w.start()
	rep, err = auditlog.Verify(context.Background(), auditlog.ReadAll(w.client), w.key.Verifier(), nil)
	if err != nil || !rep.OK() || rep.Heads != 0 {
		t.Fatalf("the log without its heads should verify alone (nothing to check it against): %+v, %v", rep, err)
	}
	rep, err = auditlog.VerifyKept(context.Background(), auditlog.ReadAll(w.client), w.key.Verifier(), nil, kept)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Problems) != 2 || !strings.Contains(rep.Problems[0].Reason, "the log differs from the kept head of 12 leaves") {
		t.Fatalf("kept heads: %+v", rep)
	}
	// A kept head signed by another key is refused by name.
	other := testKey(t, 2)
	note, err := other.Sign(heads[0].Head)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = auditlog.VerifyKept(context.Background(), auditlog.ReadAll(w.client), w.key.Verifier(), nil, []string{note})
	if err != nil || rep.OK() || !strings.Contains(rep.Problems[0].Reason, "a kept head") {
		t.Fatalf("a kept head of another key: %+v, %v", rep, err)
	}
}
