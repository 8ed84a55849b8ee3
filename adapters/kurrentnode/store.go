package kurrentnode

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

const (
	// MaxEventSize is KurrentDB's per-event limit (type + metadata + data).
	MaxEventSize = 16 << 20
	// MaxAppendSize bounds one append request.
	MaxAppendSize = 32 << 20
	// maxGroupBytes bounds one group-commit write (a single larger append is written alone).
	maxGroupBytes = 64 << 20
	// idMapThreshold: streams longer than this get a map from event id to revision for idempotency checks.
	idMapThreshold = 32
	logFileName    = "events.log"
	lockFileName   = "LOCK"
	addrFileName   = "node.addr"
)

// ErrDirInUse means another process holds the data directory (a running node): connect to it instead, at the
// address ReadAddress returns.
var ErrDirInUse = errors.New("kurrentnode: data directory in use by another node")

// errStoreClosed is returned for requests made while or after the store shuts down.
var errStoreClosed = errors.New("kurrentnode: store closed")

// streamDeletedError reports a tombstoned stream (or StreamExists expected of a soft-deleted one).
type streamDeletedError struct{ stream string }

func (e *streamDeletedError) Error() string { return fmt.Sprintf("stream %q is deleted", e.stream) }

// expectation is an expected stream revision.
type expectation struct {
	kind expectKind
	rev  uint64
}

type expectKind int

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectRevision
)

// proposedEvent is one event of an append, as received.
type proposedEvent struct {
	ID       uuid.UUID
	Type     string
	JSON     bool
	Metadata []byte
	Data     []byte
}

// wrongExpected describes a failed expected-revision check.
type wrongExpected struct {
	current  int64 // -1: no stream
	expected expectation
}

// writeResult is the outcome of an append, delete or tombstone.
type writeResult struct {
	revision int64  // last revision of the stream after the write; -1: no stream
	position uint64 // position of the last record written (or of the original one when idempotent); 0: none
	wrong    *wrongExpected
}

type opKind int

const (
	opAppend opKind = iota
	opDelete
	opTombstone
)

type writeReq struct {
	op       opKind
	stream   string
	expected expectation
	events   []proposedEvent
	size     int
	done     chan writeResp
}

type writeResp struct {
	res writeResult
	err error
}

type entry struct {
	pos uint64
	id  uuid.UUID
}

type streamState struct {
	entries []entry              // revision i is entries[i]; the tombstone is not an entry
	ids     map[uuid.UUID]uint64 // event id → revision, once the stream is long
	tomb    uint64               // position of the tombstone record; 0: not tombstoned
	metas   []metaVersion        // writes to the metastream, oldest first, pruned to what readers may need
}

// store is the storage engine: an append-only log plus in-memory indexes rebuilt from it at start.
//
// Writes go through one goroutine (group commit): it takes every queued request, checks and encodes them
// against the latest state, writes them with one WriteAt and one fsync, and only then makes them visible
// and answers. Indexes are updated eagerly under mu; readers only look at records below `visible`, the end
// of what is durable.
type store struct {
	f      logFile
	dir    string // "" in memory
	lock   *os.File
	logger *slog.Logger
	now    func() time.Time

	mu      sync.RWMutex
	streams map[string]*streamState
	all     []uint64 // positions of every record, in log order
	end     uint64   // where the next record goes
	visible uint64   // records below it are durable and readable
	notify  chan struct{}
	failed  error

	reqs  chan *writeReq
	stop  chan struct{}
	done  chan struct{}
	carry []*writeReq
	buf   []byte
}

// openStore opens the log in dir (or in memory when dir is ""), recovers it and starts the writer. wrap, when
// not nil, wraps the log file (tests: fault injection, recording the order of writes and syncs).
func openStore(dir string, logger *slog.Logger, wrap func(logFile) logFile) (*store, error) {
	s := &store{
		logger:  logger,
		dir:     dir,
		now:     time.Now,
		streams: map[string]*streamState{},
		notify:  make(chan struct{}),
		reqs:    make(chan *writeReq, 1024),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	var size int64
	if dir == "" {
		s.f = &memFile{}
	} else {
		if err := mkdirDurable(dir); err != nil {
			return nil, err
		}
		lock, created, err := openCreate(filepath.Join(dir, lockFileName))
		if err != nil {
			return nil, fmt.Errorf("kurrentnode: lock file: %w", err)
		}
		if created {
			if err := syncDir(dir); err != nil {
				lock.Close()
				return nil, err
			}
		}
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			lock.Close()
			return nil, fmt.Errorf("%w (%s): %v", ErrDirInUse, dir, err)
		}
		s.lock = lock
		f, n, err := openDiskLog(filepath.Join(dir, logFileName))
		if err != nil {
			s.unlock()
			return nil, fmt.Errorf("kurrentnode: open log: %w", err)
		}
		s.f, size = f, n
	}
	if wrap != nil {
		s.f = wrap(s.f)
	}
	if err := s.recover(size, dir); err != nil {
		s.f.Close()
		s.unlock()
		return nil, err
	}
	go s.run()
	return s, nil
}

func (s *store) unlock() {
	if s.lock != nil {
		s.lock.Close() // closing releases the flock
	}
}

func (s *store) recover(size int64, dir string) error {
	s.visible = ^uint64(0) // every replayed record is durable
	res, err := scanLog(s.f, size, func(r record) error {
		s.index(&r)
		return nil
	})
	if err != nil {
		return err
	}
	if res, err = applyCleanMark(s.f, size, res, dir); err != nil {
		return err
	}
	if res.Damage != nil {
		res.Damage.Path = filepath.Join(dir, logFileName)
		return res.Damage
	}
	end, torn := res.End, res.Torn
	if torn > 0 {
		s.logger.Warn("event log: cutting off the torn last group left by a crash (never acknowledged)", "offset", end, "bytes", torn)
		if err := s.f.Truncate(end); err != nil {
			return fmt.Errorf("kurrentnode: truncate torn tail: %w", err)
		}
	}
	if end == 0 {
		if _, err := s.f.WriteAt([]byte(logMagic), 0); err != nil {
			return fmt.Errorf("kurrentnode: write log header: %w", err)
		}
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("kurrentnode: sync log header: %w", err)
		}
		if dir != "" {
			if err := syncDir(dir); err != nil {
				return err
			}
		}
		end = int64(logHeaderSize)
	} else if torn > 0 {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("kurrentnode: sync after truncation: %w", err)
		}
	}
	if dir != "" {
		if err := removeCleanMark(dir); err != nil {
			return err
		}
	}
	s.end, s.visible = uint64(end), uint64(end)
	s.logger.Info("event log opened", "records", len(s.all), "groups", res.Groups, "bytes", end)
	return nil
}

// mkdirDurable creates dir and its missing parents, and syncs the parent of each directory it creates so that
// the new entries survive a crash.
func mkdirDurable(dir string) error {
	dir = filepath.Clean(dir)
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !os.IsNotExist(err) {
			return fmt.Errorf("kurrentnode: data dir: %w", err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("kurrentnode: create data dir: %w", err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}

// openCreate opens path read-write, creating it if needed, and says whether it created it.
func openCreate(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f, true, nil
	}
	if !os.IsExist(err) {
		return nil, false, err
	}
	f, err = os.OpenFile(path, os.O_RDWR, 0o600)
	return f, false, err
}

// syncDir makes a directory's entries durable (a variable so that a test can record the calls).
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("kurrentnode: open data dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("kurrentnode: sync data dir: %w", err)
	}
	return nil
}

// close stops the writer after the queued requests and closes the file.
func (s *store) close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	var err error
	if s.dir != "" {
		s.mu.RLock()
		failed, end := s.failed, s.visible
		s.mu.RUnlock()
		if failed == nil {
			err = writeCleanMark(s.dir, end) // every group below visible is synced
		}
	}
	err = errors.Join(err, s.f.Close())
	s.unlock()
	return err
}

// index adds a record to the in-memory indexes. Called under mu (or during recovery).
func (s *store) index(r *record) {
	s.all = append(s.all, r.Pos)
	s.end = r.Pos + uint64(r.size())
	st := s.streams[r.Stream]
	if st == nil {
		st = &streamState{}
		s.streams[r.Stream] = st
	}
	if r.Type == tombstoneType && r.Revision == deletedRevision {
		st.tomb = r.Pos
		return
	}
	st.entries = append(st.entries, entry{pos: r.Pos, id: r.ID})
	switch {
	case st.ids != nil:
		st.ids[r.ID] = r.Revision
	case len(st.entries) > idMapThreshold:
		st.ids = make(map[uuid.UUID]uint64, 2*len(st.entries))
		for rev, e := range st.entries {
			st.ids[e.id] = uint64(rev)
		}
	}
	if isMetastream(r.Stream) {
		base := s.streams[r.Stream[len(metaPrefix):]]
		if base == nil {
			base = &streamState{}
			s.streams[r.Stream[len(metaPrefix):]] = base
		}
		// Keep the newest version readers can already see, and everything newer.
		keep := 0
		for i, m := range base.metas {
			if m.pos < s.visible {
				keep = i
			}
		}
		base.metas = append(base.metas[keep:], metaVersion{
			pos: r.Pos, meta: parseMeta(r.JSON, r.Data), raw: slices.Clone(r.Data),
		})
	}
}

// metaAt returns the stream metadata readers at horizon h see. Metastreams themselves keep one event.
func (st *streamState) metaAt(stream string, h uint64) (streamMeta, []byte) {
	if isMetastream(stream) {
		return streamMeta{maxCount: 1, tb: -1}, nil
	}
	for i := len(st.metas) - 1; i >= 0; i-- {
		if st.metas[i].pos < h {
			return st.metas[i].meta, st.metas[i].raw
		}
	}
	return noMeta, nil
}

// lastRev returns the last revision whose record is below h, or -1.
func (st *streamState) lastRev(h uint64) int64 {
	n := len(st.entries)
	for n > 0 && st.entries[n-1].pos >= h {
		n--
	}
	return int64(n) - 1
}

func (st *streamState) findID(id uuid.UUID) (uint64, bool) {
	if st.ids != nil {
		rev, ok := st.ids[id]
		return rev, ok
	}
	for rev, e := range st.entries {
		if e.id == id {
			return uint64(rev), true
		}
	}
	return 0, false
}

// submit queues a write and waits for its durable outcome.
func (s *store) submit(req *writeReq) (writeResult, error) {
	req.done = make(chan writeResp, 1)
	select {
	case s.reqs <- req:
	case <-s.stop:
		return writeResult{}, errStoreClosed
	}
	r := <-req.done
	return r.res, r.err
}

func (s *store) run() {
	defer close(s.done)
	for {
		var batch []*writeReq
		if len(s.carry) > 0 {
			batch, s.carry = s.carry, nil
		} else {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			case <-s.stop:
				s.drainClosed()
				return
			}
		}
	gather:
		for len(batch) < 4096 {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

func (s *store) drainClosed() {
	for {
		select {
		case r := <-s.reqs:
			r.done <- writeResp{err: errStoreClosed}
		default:
			return
		}
	}
}

// commit decides, writes and syncs one group of requests, then answers them.
func (s *store) commit(batch []*writeReq) {
	resps := make([]writeResp, len(batch))
	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		for _, r := range batch {
			r.done <- writeResp{err: s.failed}
		}
		return
	}
	// The group header goes first; the records after it get their positions as they are encoded.
	start := s.end
	s.end += groupHeaderSize
	var header [groupHeaderSize]byte
	buf := append(s.buf[:0], header[:]...)
	count := len(s.all)
	for i, r := range batch {
		if len(buf) > groupHeaderSize && len(buf)+r.size > maxGroupBytes {
			s.carry = batch[i:]
			batch, resps = batch[:i], resps[:i]
			break
		}
		resps[i].res, resps[i].err = s.decide(r, &buf)
	}
	count = len(s.all) - count
	if count == 0 {
		s.end = start // nothing to write: no group
		buf = buf[:0]
	}
	s.mu.Unlock()
	if len(buf) > 0 {
		putGroupHeader(buf, start, count)
		_, err := s.f.WriteAt(buf, int64(start))
		if err == nil {
			err = s.f.Sync()
		}
		if err != nil {
			s.writeFailed(start, err, batch)
			return
		}
		if cap(buf) <= 4<<20 {
			s.buf = buf
		}
		s.mu.Lock()
		s.visible = s.end
		close(s.notify)
		s.notify = make(chan struct{})
		s.mu.Unlock()
	}
	for i, r := range batch {
		r.done <- resps[i]
	}
}

// writeFailed handles a failed write or sync of the group at start: it cuts the file back to where the group
// started and syncs that, so that no restart can read back a group whose appends were answered as failed (the
// bytes may well be in the page cache, or on disk), then refuses every later write until a restart.
func (s *store) writeFailed(start uint64, err error, batch []*writeReq) {
	err = fmt.Errorf("kurrentnode: event log write failed, node needs a restart: %w", err)
	s.logger.Error("event log write failed; writes refused until restart", "err", err, "offset", start)
	if cerr := s.f.Truncate(int64(start)); cerr != nil {
		s.logger.Error("event log: cutting back the failed group failed; it may reappear at restart", "err", cerr, "offset", start)
	} else if cerr := s.f.Sync(); cerr != nil {
		s.logger.Error("event log: syncing the cut-back after a failed group failed; it may reappear at restart", "err", cerr, "offset", start)
	}
	s.mu.Lock()
	s.failed = err
	s.mu.Unlock()
	for _, r := range batch {
		r.done <- writeResp{err: err}
	}
}

// decide checks one request against the current state and, when it writes, encodes its records into buf
// and indexes them. Called under mu by the writer only.
func (s *store) decide(r *writeReq, buf *[]byte) (writeResult, error) {
	st := s.streams[r.stream]
	if st == nil {
		st = &streamState{}
	}
	if st.tomb != 0 {
		return writeResult{}, &streamDeletedError{r.stream}
	}
	const all = ^uint64(0)
	cur := st.lastRev(all)
	meta, rawMeta := st.metaAt(r.stream, all)
	softDeleted := meta.tb == deletedRevision
	hasMeta := len(st.metas) > 0
	// KurrentDB's IndexWriter.CheckCommit answers StreamExists on a soft-deleted stream with "stream deleted",
	// before any other check (append, delete and tombstone alike).
	if r.expected.kind == expectStreamExists && softDeleted {
		return writeResult{}, &streamDeletedError{r.stream}
	}
	// A soft delete does not change the stream's last revision: KurrentDB reports it in wrong expected versions.
	wrong := func() (writeResult, error) {
		return writeResult{revision: cur, wrong: &wrongExpected{current: cur, expected: r.expected}}, nil
	}

	switch r.op {
	case opDelete:
		if cur < 0 || !s.matches(r.expected, cur, softDeleted, hasMeta) {
			return wrong()
		}
		rec := record{Stream: metaPrefix + r.stream, Type: metadataEventType, JSON: true,
			Revision: uint64(s.lastRevOf(metaPrefix+r.stream) + 1), ID: uuid.New(),
			Data: []byte(`{"$tb":9223372036854775807}`), Metadata: []byte{}}
		pos := s.write(buf, []*record{&rec})
		return writeResult{revision: cur, position: pos}, nil
	case opTombstone:
		if !s.matches(r.expected, cur, softDeleted, hasMeta) {
			return wrong()
		}
		rec := record{Stream: r.stream, Type: tombstoneType, JSON: true, Revision: deletedRevision,
			ID: uuid.New(), Data: []byte{}, Metadata: []byte{}}
		pos := s.write(buf, []*record{&rec})
		return writeResult{revision: cur, position: pos}, nil
	}

	// Append: idempotent retries first, then the expected-revision check.
	if len(r.events) > 0 {
		if res, handled := s.idempotent(st, cur, softDeleted, r); handled {
			return res, nil
		}
	}
	if !s.matches(r.expected, cur, softDeleted, hasMeta) {
		return wrong()
	}
	if len(r.events) == 0 {
		res := writeResult{revision: cur}
		if cur >= 0 {
			res.position = st.entries[cur].pos
		}
		return res, nil
	}
	recs := make([]*record, 0, len(r.events)+1)
	if softDeleted {
		// Re-creating a soft-deleted stream: numbering continues, older events stay hidden.
		recs = append(recs, &record{Stream: metaPrefix + r.stream, Type: metadataEventType, JSON: true,
			Revision: uint64(s.lastRevOf(metaPrefix+r.stream) + 1), ID: uuid.New(),
			Data: withTruncateBefore(rawMeta, cur+1), Metadata: []byte{}})
	}
	for i, e := range r.events {
		recs = append(recs, &record{Stream: r.stream, Revision: uint64(cur + 1 + int64(i)), ID: e.ID,
			Type: e.Type, JSON: e.JSON, Metadata: e.Metadata, Data: e.Data})
	}
	pos := s.write(buf, recs)
	return writeResult{revision: cur + int64(len(r.events)), position: pos}, nil
}

func (s *store) lastRevOf(stream string) int64 {
	if st := s.streams[stream]; st != nil {
		return st.lastRev(^uint64(0))
	}
	return -1
}

// matches applies KurrentDB's expected-revision rules (docs/kurrentdb-semantics.md §7.1).
func (s *store) matches(e expectation, cur int64, softDeleted, hasMeta bool) bool {
	switch e.kind {
	case expectAny:
		return true
	case expectNoStream:
		return cur < 0 || softDeleted
	case expectStreamExists:
		return (cur >= 0 && !softDeleted) || (hasMeta && !softDeleted)
	default:
		return int64(e.rev) == cur
	}
}

// idempotent recognises a retried append (same event ids, per stream) and answers it with the original
// result; a partial match is a wrong expected version, as in KurrentDB (docs/kurrentdb-semantics.md §7.2).
func (s *store) idempotent(st *streamState, cur int64, softDeleted bool, r *writeReq) (writeResult, bool) {
	// When the expectation alone would pass (Any, StreamExists, or NoStream on a soft-deleted stream), a first
	// event that is not already there makes this a plain new append.
	firstNewIsAppend := r.expected.kind == expectAny || r.expected.kind == expectStreamExists ||
		(r.expected.kind == expectNoStream && softDeleted)
	var first int64
	switch r.expected.kind {
	case expectRevision:
		first = int64(r.expected.rev) + 1
	case expectNoStream:
		first = 0
	default:
		rev, ok := st.findID(r.events[0].ID)
		if !ok {
			return writeResult{}, false
		}
		first = int64(rev)
	}
	if first > cur {
		return writeResult{}, false
	}
	for i, e := range r.events {
		rev := first + int64(i)
		if rev > cur || st.entries[rev].id != e.ID {
			if i == 0 && firstNewIsAppend {
				return writeResult{}, false
			}
			return writeResult{revision: cur, wrong: &wrongExpected{current: cur, expected: r.expected}}, true
		}
	}
	last := first + int64(len(r.events)) - 1
	return writeResult{revision: last, position: st.entries[last].pos}, true
}

// write encodes records at the end of the log buffer, the last one closing the append, indexes them and
// returns the position of the last one.
func (s *store) write(buf *[]byte, recs []*record) uint64 {
	created := s.now().UnixNano() / 100
	var pos uint64
	for i, r := range recs {
		r.Pos = s.end
		r.Created = created
		r.Commit = i == len(recs)-1
		*buf = appendRecord(*buf, r)
		s.index(r)
		pos = r.Pos
	}
	return pos
}

// head returns the current durable end and the channel closed at the next commit.
func (s *store) head() (uint64, <-chan struct{}) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.visible, s.notify
}

// streamStatus is what a reader learns about a stream.
type streamStatus int

const (
	streamOK streamStatus = iota
	streamNotFound
	streamDeleted
)

// span is a run of records to read: their positions and the byte length of each.
type span struct {
	pos  uint64
	size uint64
}

// streamPage returns up to limit visible records of a stream, from revision `from` forwards (or backwards),
// honouring `$tb`, `$maxCount` and soft deletion. It also returns the stream's max age and whether the
// tombstone is visible after the returned events.
func (s *store) streamPage(stream string, from int64, backwards bool, limit int) ([]span, []int64, streamStatus, time.Duration) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := s.visible
	st := s.streams[stream]
	if st == nil {
		return nil, nil, streamNotFound, 0
	}
	if st.tomb != 0 && st.tomb < h {
		return nil, nil, streamDeleted, 0
	}
	last := st.lastRev(h)
	meta, _ := st.metaAt(stream, h)
	if meta.tb == deletedRevision || last < 0 {
		return nil, nil, streamNotFound, 0
	}
	first := int64(0)
	if meta.tb > first {
		first = meta.tb
	}
	if meta.maxCount > 0 && last-meta.maxCount+1 > first {
		first = last - meta.maxCount + 1
	}
	var spans []span
	var revs []int64
	if backwards {
		for rev := min(from, last); rev >= first && len(spans) < limit; rev-- {
			spans = append(spans, s.spanAt(st.entries[rev].pos, h))
			revs = append(revs, rev)
		}
	} else {
		for rev := max(from, first); rev <= last && len(spans) < limit; rev++ {
			spans = append(spans, s.spanAt(st.entries[rev].pos, h))
			revs = append(revs, rev)
		}
	}
	return spans, revs, streamOK, meta.maxAge
}

// streamEnd returns the last visible revision of a stream (-1 if none) and whether it is tombstoned.
func (s *store) streamEnd(stream string) (int64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.streams[stream]
	if st == nil {
		return -1, false
	}
	return st.lastRev(s.visible), st.tomb != 0 && st.tomb < s.visible
}

// spanAt returns the record at pos with its length. Called under mu.
func (s *store) spanAt(pos, h uint64) span {
	i := sort.Search(len(s.all), func(i int) bool { return s.all[i] > pos })
	next := h
	if i < len(s.all) && s.all[i] < h {
		next = s.all[i]
	}
	return span{pos: pos, size: next - pos}
}

// allPage returns up to limit visible positions of $all: forwards from `from` (inclusive) or backwards
// from strictly before `from`, with their sizes, bounded to about maxBytes.
func (s *store) allPage(from uint64, backwards bool, limit int, maxBytes uint64) []span {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := s.visible
	n := sort.Search(len(s.all), func(i int) bool { return s.all[i] >= h })
	next := func(i int) uint64 {
		if i+1 < n {
			return s.all[i+1]
		}
		return h
	}
	var spans []span
	var total uint64
	if backwards {
		i := sort.Search(n, func(i int) bool { return s.all[i] >= from }) - 1
		for ; i >= 0 && len(spans) < limit; i-- {
			sz := next(i) - s.all[i]
			if len(spans) > 0 && total+sz > maxBytes {
				break
			}
			spans = append(spans, span{s.all[i], sz})
			total += sz
		}
		return spans
	}
	for i := sort.Search(n, func(i int) bool { return s.all[i] >= from }); i < n && len(spans) < limit; i++ {
		sz := next(i) - s.all[i]
		if len(spans) > 0 && total+sz > maxBytes {
			break
		}
		spans = append(spans, span{s.all[i], sz})
		total += sz
	}
	return spans
}

// readSpans reads records; spans that are contiguous in the log are read with one call.
func (s *store) readSpans(spans []span) ([]record, error) {
	recs := make([]record, 0, len(spans))
	for i := 0; i < len(spans); {
		j, lo, hi := i+1, spans[i].pos, spans[i].pos+spans[i].size
	merge:
		for ; j < len(spans) && hi-lo < 8<<20; j++ {
			switch sp := spans[j]; {
			case sp.pos == hi:
				hi += sp.size
			case sp.pos+sp.size == lo:
				lo = sp.pos
			default:
				break merge
			}
		}
		b := make([]byte, hi-lo)
		if _, err := s.f.ReadAt(b, int64(lo)); err != nil {
			return nil, fmt.Errorf("kurrentnode: read log at %d: %w", lo, err)
		}
		for _, sp := range spans[i:j] {
			off := sp.pos - lo
			r, _, err := decodeRecord(b[off:off+sp.size], sp.pos)
			if err != nil {
				return nil, fmt.Errorf("kurrentnode: record at %d: %w", sp.pos, err)
			}
			recs = append(recs, r)
		}
		i = j
	}
	return recs, nil
}

// resolveLink returns the event a `$>` link points to ("<revision>@<stream>"), if visible.
func (s *store) resolveLink(data []byte) (*record, error) {
	revText, stream, found := strings.Cut(string(data), "@")
	rev, err := strconv.ParseInt(revText, 10, 64)
	if !found || err != nil {
		return nil, nil
	}
	s.mu.RLock()
	st := s.streams[stream]
	var sp span
	ok := st != nil && rev >= 0 && rev <= st.lastRev(s.visible)
	if ok {
		sp = s.spanAt(st.entries[rev].pos, s.visible)
	}
	s.mu.RUnlock()
	if !ok {
		return nil, nil
	}
	recs, err := s.readSpans([]span{sp})
	if err != nil {
		return nil, err
	}
	return &recs[0], nil
}
