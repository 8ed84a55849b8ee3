package kurrentnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
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

// store is the storage engine: an append-only log plus a persisted index (index.go) that reflects it up to a
// checkpoint, caught up from the log at start.
//
// Writes go through one goroutine (group commit): it takes every queued request, checks and encodes them
// against the latest state (the index plus the overlay of the group being built), writes them with one WriteAt
// and one fsync, and only then writes the group's index entries and makes them visible and answers, under mu.
// So the index holds exactly the records below `visible`, the end of what is durable.
type store struct {
	f      logFile // the log (log, or a test's wrapper around it)
	log    *segLog
	dir    string // "" in memory
	lock   *os.File
	logger *slog.Logger
	now    func() time.Time

	db         *pebble.DB
	cacheBytes int64
	ov         overlay // the group being built (writer only)

	// The last segment (writer only): where it starts, what its seal will count, and the size that seals it.
	segBytes   int64
	segBase    int64
	segGroups  uint32
	segRecords uint32

	mu      sync.RWMutex
	closed  bool   // the index is closed: readers get errStoreClosed
	end     uint64 // where the next record goes
	visible uint64 // records below it are durable and readable
	notify  chan struct{}
	failed  error // writes are refused with it (nil: accepted)

	// A refusal the writer may lift (writer only, see writeFailed): the failed group's write failed and the log was
	// cut back to exactly where it was and synced, so a probe retries at probeAt and lifts it once a write goes
	// through again (a full disk that got space back). A failed sync, cut-back or index write is never retried.
	recoverable bool
	probeAt     time.Time
	backoff     time.Duration

	reqs  chan *writeReq
	stop  chan struct{}
	done  chan struct{}
	carry []*writeReq
	buf   []byte
}

// openStore opens the log in dir (or in memory when dir is ""), recovers it and starts the writer. wrap, when
// not nil, wraps the log file (tests: fault injection, recording the order of writes and syncs).
func openStore(dir string, logger *slog.Logger, wrap func(logFile) logFile) (*store, error) {
	return openStoreCache(dir, logger, wrap, 0)
}

// openStoreCache is openStore with the index's block cache size (0: IndexCacheBytes).
func openStoreCache(dir string, logger *slog.Logger, wrap func(logFile) logFile, cacheBytes int64) (*store, error) {
	return openStoreConfig(dir, logger, wrap, storeConfig{cacheBytes: cacheBytes})
}

// storeConfig sizes a store (0: the defaults).
type storeConfig struct {
	cacheBytes int64 // the index's block cache (IndexCacheBytes)
	segBytes   int64 // the size that seals a log segment (SegmentBytes)
}

func openStoreConfig(dir string, logger *slog.Logger, wrap func(logFile) logFile, cfg storeConfig) (*store, error) {
	if cfg.cacheBytes <= 0 {
		cfg.cacheBytes = IndexCacheBytes
	}
	if cfg.segBytes <= 0 {
		cfg.segBytes = SegmentBytes
	}
	s := &store{
		logger:     logger,
		dir:        dir,
		now:        time.Now,
		cacheBytes: cfg.cacheBytes,
		segBytes:   cfg.segBytes,
		notify:     make(chan struct{}),
		reqs:       make(chan *writeReq, 1024),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if dir != "" {
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
	}
	l, err := openSegLog(dir, false)
	if err != nil {
		s.unlock()
		return nil, err
	}
	s.log, s.f = l, l
	if wrap != nil {
		s.f = wrap(s.f)
	}
	if err := s.openIndex(); err != nil {
		s.f.Close()
		s.unlock()
		return nil, err
	}
	if err := s.recover(dir); err != nil {
		if s.db != nil {
			s.db.Close()
		}
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

// openIndex opens the persisted index, or drops and recreates it when pebble cannot open it or finds a
// damaged block in it: the log rebuilds it.
func (s *store) openIndex() error {
	t0 := time.Now()
	db, err := openIndex(s.dir, s.logger, s.cacheBytes)
	var read, skipped int
	if err == nil {
		if read, skipped, err = verifyIndex(db, s.dir, s.logger); err != nil {
			db.Close()
		}
	}
	if err == nil {
		s.logger.Info("event index opened and verified", "tables_verified", read, "tables_verified_before", skipped,
			"took", time.Since(t0).Round(time.Millisecond))
	}
	if err != nil {
		s.logger.Warn("event index damaged or unreadable: rebuilding it from the log", "err", err)
		if db, err = s.recreateIndex(); err != nil {
			return err
		}
	}
	s.db = db
	s.ov = overlay{db: db, kv: map[string][]byte{}}
	return nil
}

// recreateIndex removes the index directory and opens an empty index.
func (s *store) recreateIndex() (*pebble.DB, error) {
	if s.dir != "" {
		if err := os.RemoveAll(filepath.Join(s.dir, indexDirName)); err != nil {
			return nil, fmt.Errorf("kurrentnode: remove event index: %w", err)
		}
	}
	db, err := openIndex(s.dir, s.logger, s.cacheBytes)
	if err != nil {
		return nil, fmt.Errorf("kurrentnode: create event index: %w", err)
	}
	return db, nil
}

// replayFrom returns where replay starts: the end of the last group the index reflects, if that group is in
// the log as the checkpoint says (its header names its own offset); otherwise the index is rebuilt from the
// start of the log.
func (s *store) replayFrom(size int64) (int64, error) {
	cp, ok, err := readCheckpoint(s.db)
	if err == nil && !ok && size == 0 {
		return 0, nil // a new data directory: no log, nothing indexed, nothing to rebuild
	}
	if err == nil && ok {
		if cp.group == 0 && cp.end == uint64(segHeaderSize) && size >= int64(segHeaderSize) {
			return int64(segHeaderSize), nil
		}
		if cp.group >= uint64(segHeaderSize) && int64(cp.group)+groupHeaderSize <= size && int64(cp.end) <= size {
			hb := make([]byte, groupHeaderSize)
			if _, rerr := s.log.ReadAt(hb, int64(cp.group)); rerr == nil {
				if h, hok := parseGroupHeader(hb, int64(cp.group)); hok && cp.group+groupHeaderSize+uint64(h.length) == cp.end {
					return int64(cp.end), nil
				}
			}
		}
		s.logger.Warn("event index checkpoint does not match the log: rebuilding the index from the log",
			"group", cp.group, "end", cp.end, "log_bytes", size)
	} else if err != nil {
		s.logger.Warn("event index checkpoint unreadable: rebuilding the index from the log", "err", err)
	}
	if err != nil || ok {
		s.db.Close()
		s.db = nil
		db, err := s.recreateIndex()
		if err != nil {
			return 0, err
		}
		s.db, s.ov.db = db, db
	}
	return int64(segHeaderSize), nil
}

func (s *store) recover(dir string) error {
	t0 := time.Now()
	from, err := s.replayFrom(s.log.end())
	if err != nil {
		return err
	}
	replayed := 0
	replay := func(from int64) (scanResult, error) {
		var last checkpoint
		res, err := scanLogFrom(s.log, from, func(r record) error {
			replayed++
			return s.ov.add(&r)
		}, func(off, end int64) error {
			last = checkpoint{uint64(off), uint64(end)}
			if s.ov.recs < 1<<16 {
				return nil
			}
			err := s.ov.commit(last)
			s.ov.reset()
			return err
		})
		if err == nil && s.ov.recs > 0 {
			err = s.ov.commit(last)
		}
		s.ov.reset()
		if err != nil {
			return res, err
		}
		return applyCleanMark(s.log, res, dir)
	}
	res, err := replay(from)
	if err != nil {
		return err
	}
	if res.Damage != nil {
		res.Damage.Path = s.log.pathAt(res.Damage.Offset)
		return res.Damage
	}
	if res.End < from {
		// The valid log ends before what the index reflects (a torn last group that was indexed, after a
		// crash without the mark): nothing after `from` was indexed by this replay; rebuild from the start.
		s.logger.Warn("event index reflects more than the valid log: rebuilding it from the log", "indexed", from, "log_end", res.End)
		s.db.Close()
		s.db = nil
		db, err := s.recreateIndex()
		if err != nil {
			return err
		}
		s.db, s.ov.db = db, db
		if from, err = int64(segHeaderSize), nil; res.End > 0 {
			if res, err = replay(from); err != nil {
				return err
			}
		}
	}
	end := res.End
	newSegment := res.LastSealed // a crash between the seal of the last segment and the creation of the next one
	if last := s.log.last(); last != nil && end == last.base {
		// A segment torn while it was created (empty, or its header cut) holds no group: it goes, and is
		// created again below.
		s.logger.Warn("event log: removing the last segment, torn while it was created (no group in it)", "segment", segName(last.base), "bytes", res.Torn)
		if err := s.log.dropLast(); err != nil {
			return err
		}
		newSegment = true
	} else if res.Torn > 0 {
		s.logger.Warn("event log: cutting off the torn last group left by a crash (never acknowledged)", "offset", end, "bytes", res.Torn)
		if err := s.log.Truncate(end); err != nil {
			return fmt.Errorf("kurrentnode: truncate torn tail: %w", err)
		}
		if err := s.log.Sync(); err != nil {
			return fmt.Errorf("kurrentnode: sync after truncation: %w", err)
		}
	}
	s.segGroups, s.segRecords = res.SegGroups, res.SegRecords
	if newSegment || s.log.last() == nil {
		if err := s.log.create(end); err != nil {
			return err
		}
		end += segHeaderSize
		s.segGroups, s.segRecords = 0, 0
	}
	s.segBase = s.log.last().base
	if dir != "" {
		if err := removeCleanMark(dir); err != nil {
			return err
		}
	}
	if from == int64(segHeaderSize) && res.Groups == 0 {
		if err := s.ov.commit(checkpoint{0, uint64(segHeaderSize)}); err != nil {
			return err
		}
	}
	s.end, s.visible = uint64(end), uint64(end)
	s.logger.Info("event log opened", "replayed_from", from, "replayed_records", replayed, "replayed_groups", res.Groups,
		"bytes", end, "segments", res.Segments, "segments_verified", res.Verified, "took", time.Since(t0).Round(time.Millisecond))
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
	// Readers use the index under mu: once closed is set, none is inside and none will enter.
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	var err error
	if s.dir != "" {
		err = s.db.Flush() // the index skips its WAL: make it durable up to its checkpoint
	}
	err = errors.Join(err, s.db.Close())
	if s.dir != "" && err == nil {
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
			var probe <-chan time.Time
			if s.recoverable {
				probe = time.After(time.Until(s.probeAt))
			}
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			case <-probe:
				s.probe()
				continue
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
	s.mu.RLock()
	failed := s.failed
	s.mu.RUnlock()
	if failed != nil {
		for _, r := range batch {
			r.done <- writeResp{err: failed}
		}
		return
	}
	if int64(s.end)-s.segBase >= s.segBytes && s.segGroups > 0 {
		if err := s.roll(batch); err != nil {
			return
		}
	}
	// The group header goes first; the records after it get their positions as they are encoded.
	start := s.end
	s.end += groupHeaderSize
	var header [groupHeaderSize]byte
	buf := append(s.buf[:0], header[:]...)
	s.ov.reset()
	var indexErr error
	for i, r := range batch {
		if len(buf) > groupHeaderSize && len(buf)+r.size > maxGroupBytes {
			s.carry = batch[i:]
			batch, resps = batch[:i], resps[:i]
			break
		}
		resps[i].res, resps[i].err = s.decide(r, &buf)
		var ie *indexError
		if errors.As(resps[i].err, &ie) {
			indexErr = ie
			break
		}
	}
	count := s.ov.recs
	if count == 0 || indexErr != nil {
		s.end = start // nothing to write: no group
		buf = buf[:0]
	}
	if indexErr != nil {
		// The index cannot be read: nothing of this group is written, and writes stop until a restart
		// (which rebuilds a damaged index from the log).
		s.fail(fmt.Errorf("kurrentnode: event index unreadable, node needs a restart: %w", indexErr), append(batch, s.carry...))
		s.carry = nil
		return
	}
	if len(buf) > 0 {
		putGroupHeader(buf, start, count)
		_, err := s.f.WriteAt(buf, int64(start))
		synced := false
		if err == nil {
			err, synced = s.f.Sync(), true
		}
		if err != nil {
			// Only a failed write is worth retrying: after a failed fdatasync the page cache may have dropped the
			// dirty pages, so what the file holds is unknown (fsync errors are not retryable on Linux).
			s.writeFailed(start, err, batch, !synced)
			return
		}
		if cap(buf) <= 4<<20 {
			s.buf = buf
		}
		s.segGroups++
		s.segRecords += uint32(count)
		s.mu.Lock()
		err = s.ov.commit(checkpoint{start, s.end})
		if err == nil {
			s.visible = s.end
			close(s.notify)
			s.notify = make(chan struct{})
		}
		s.mu.Unlock()
		if err != nil {
			// The group is durable but could not be indexed: cut it back so that nothing answered as failed
			// reappears at restart.
			s.writeFailed(start, fmt.Errorf("index the group: %w", err), batch, false)
			return
		}
	}
	for i, r := range batch {
		r.done <- resps[i]
	}
}

// roll seals the last segment (its seal written and synced) and starts the next one. On failure it answers the
// batch and stops writes as a failed group does (a seal that failed is cut back first).
func (s *store) roll(batch []*writeReq) error {
	at := s.end
	var b [sealSize]byte
	putSeal(b[:], seal{offset: int64(at), groups: s.segGroups, records: s.segRecords})
	_, err := s.f.WriteAt(b[:], int64(at))
	synced := false
	if err == nil {
		err, synced = s.f.Sync(), true
	}
	if err != nil {
		s.writeFailed(at, fmt.Errorf("seal the log segment: %w", err), append(batch, s.carry...), !synced)
		s.carry = nil
		return err
	}
	next := int64(at) + sealSize
	if err := s.log.create(next); err != nil {
		// The segment stays sealed: the next start creates the one after it.
		s.logger.Error("event log: creating the next segment failed; writes refused until restart", "err", err)
		s.fail(fmt.Errorf("kurrentnode: event log write failed, node needs a restart: %w", err), append(batch, s.carry...))
		s.carry = nil
		return err
	}
	s.segBase, s.segGroups, s.segRecords = next, 0, 0
	s.end = uint64(next) + segHeaderSize
	s.mu.Lock()
	s.visible = s.end // nothing new to read: the log now ends after the new segment's header
	s.mu.Unlock()
	s.logger.Info("event log: sealed a segment and started the next", "segment", segName(next))
	return nil
}

// indexError is a failure to read the persisted index while deciding a write.
type indexError struct{ err error }

func (e *indexError) Error() string { return e.err.Error() }
func (e *indexError) Unwrap() error { return e.err }

// writeFailed handles a failed write or sync of the group at start: it cuts the file back to where the group
// started and syncs that, so that no restart can read back a group whose appends were answered as failed (the
// bytes may well be in the page cache, or on disk), then refuses every later write.
//
// writeOnly says the failure was the write itself (typically ENOSPC: a full disk), before any sync of the group.
// If, in addition, the cut-back and its sync succeed, the log is exactly as it was before the group and durable:
// the refusal is recoverable and a probe (probe) lifts it once a write goes through again, with no restart. In
// every other case (a failed fdatasync, whose outcome is unknown; a failed cut-back or its sync; a failed index
// write) writes stay refused until a restart, which recovers from what the disk really holds.
func (s *store) writeFailed(start uint64, err error, batch []*writeReq, writeOnly bool) {
	s.end = start // the failed group is not in the log (cut back below)
	cut := true
	if cerr := s.f.Truncate(int64(start)); cerr != nil {
		cut = false
		s.logger.Error("event log: cutting back the failed group failed; it may reappear at restart", "err", cerr, "offset", start)
	} else if cerr := s.f.Sync(); cerr != nil {
		cut = false
		s.logger.Error("event log: syncing the cut-back after a failed group failed; it may reappear at restart", "err", cerr, "offset", start)
	}
	if writeOnly && cut {
		s.refuseRecoverable(err)
		s.logger.Error("event log write failed (no space left?); writes refused until a probe write succeeds", "err", err, "offset", start, "retry_in", s.backoff)
		s.answer(batch, s.failed)
		return
	}
	err = fmt.Errorf("kurrentnode: event log write failed, node needs a restart: %w", err)
	s.logger.Error("event log write failed; writes refused until restart", "err", err, "offset", start)
	s.fail(err, batch)
}

// Probe back-off while writes are refused recoverably: the first probe after probeMin, then doubling up to probeMax.
const (
	probeMin   = 100 * time.Millisecond
	probeMax   = time.Second
	probeBytes = 64 << 10
)

// ErrWritesRefused wraps the cause of a recoverable refusal (a write that failed, typically on a full disk): the
// node retries and accepts writes again once it can write, with no restart.
var ErrWritesRefused = errors.New("kurrentnode: event log write failed, writes refused until it can write again (retrying)")

func (s *store) refuseRecoverable(cause error) {
	if s.recoverable {
		s.backoff = min(2*s.backoff, probeMax)
	} else {
		s.backoff = probeMin
	}
	s.recoverable = true
	s.probeAt = s.now().Add(s.backoff)
	s.mu.Lock()
	s.failed = fmt.Errorf("%w: %w", ErrWritesRefused, cause)
	s.mu.Unlock()
}

// probe runs when a recoverable refusal's back-off ends: it writes probeBytes of zeros at the end of the log,
// cuts them off again and syncs the cut. A write that fails leaves the refusal (with a longer back-off); a
// write that goes through lifts it; a cut-back or a sync that fails makes it permanent, as in writeFailed.
func (s *store) probe() {
	at := int64(s.end)
	_, werr := s.f.WriteAt(make([]byte, probeBytes), at)
	var cerr error
	if cerr = s.f.Truncate(at); cerr == nil {
		cerr = s.f.Sync()
	}
	switch {
	case cerr != nil:
		s.recoverable = false
		err := fmt.Errorf("kurrentnode: event log: cutting back a probe write failed, node needs a restart: %w", cerr)
		s.logger.Error("event log: cutting back a probe write failed; writes refused until restart", "err", cerr, "offset", at)
		s.fail(err, nil)
	case werr != nil:
		s.refuseRecoverable(werr)
		s.logger.Warn("event log: still cannot write; writes refused", "err", werr, "retry_in", s.backoff)
	default:
		s.recoverable = false
		s.mu.Lock()
		s.failed = nil
		s.mu.Unlock()
		s.logger.Info("event log: a probe write went through; writes accepted again")
	}
}

// fail refuses every later write with err (until a restart) and answers the batch with it.
func (s *store) fail(err error, batch []*writeReq) {
	s.recoverable = false
	s.mu.Lock()
	s.failed = err
	s.mu.Unlock()
	s.answer(batch, err)
}

func (s *store) answer(batch []*writeReq, err error) {
	for _, r := range batch {
		r.done <- writeResp{err: err}
	}
}

// writesRefused reports why writes are refused (nil: they are accepted).
func (s *store) writesRefused() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.failed
}

// decide checks one request against the current state and, when it writes, encodes its records into buf
// and stages their index entries in the overlay. Called by the writer only; a failure to read the index is
// an *indexError.
func (s *store) decide(r *writeReq, buf *[]byte) (writeResult, error) {
	res, err := s.decideIndexed(r, buf)
	var deleted *streamDeletedError
	if err != nil && !errors.As(err, &deleted) {
		return writeResult{}, &indexError{err}
	}
	return res, err
}

func (s *store) decideIndexed(r *writeReq, buf *[]byte) (writeResult, error) {
	st, err := s.ov.head(r.stream)
	if err != nil {
		return writeResult{}, err
	}
	if st.tomb != 0 {
		return writeResult{}, &streamDeletedError{r.stream}
	}
	cur := st.last
	meta, rawMeta := st.meta(r.stream)
	softDeleted := meta.tb == deletedRevision
	hasMeta := st.metaKind != 0
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
		metaRev, err := s.lastRevOf(metaPrefix + r.stream)
		if err != nil {
			return writeResult{}, err
		}
		rec := record{Stream: metaPrefix + r.stream, Type: metadataEventType, JSON: true,
			Revision: uint64(metaRev + 1), ID: uuid.New(),
			Data: []byte(`{"$tb":9223372036854775807}`), Metadata: []byte{}}
		pos, err := s.write(buf, []*record{&rec})
		return writeResult{revision: cur, position: pos}, err
	case opTombstone:
		if !s.matches(r.expected, cur, softDeleted, hasMeta) {
			return wrong()
		}
		rec := record{Stream: r.stream, Type: tombstoneType, JSON: true, Revision: deletedRevision,
			ID: uuid.New(), Data: []byte{}, Metadata: []byte{}}
		pos, err := s.write(buf, []*record{&rec})
		return writeResult{revision: cur, position: pos}, err
	}

	// Append: idempotent retries first, then the expected-revision check.
	if len(r.events) > 0 {
		res, handled, err := s.idempotent(r.stream, cur, softDeleted, r)
		if err != nil || handled {
			return res, err
		}
	}
	if !s.matches(r.expected, cur, softDeleted, hasMeta) {
		return wrong()
	}
	if len(r.events) == 0 {
		res := writeResult{revision: cur}
		if cur >= 0 {
			e, err := s.ov.entry(r.stream, cur)
			if err != nil {
				return writeResult{}, err
			}
			res.position = e.pos
		}
		return res, nil
	}
	recs := make([]*record, 0, len(r.events)+1)
	if softDeleted {
		// Re-creating a soft-deleted stream: numbering continues, older events stay hidden.
		metaRev, err := s.lastRevOf(metaPrefix + r.stream)
		if err != nil {
			return writeResult{}, err
		}
		recs = append(recs, &record{Stream: metaPrefix + r.stream, Type: metadataEventType, JSON: true,
			Revision: uint64(metaRev + 1), ID: uuid.New(),
			Data: withTruncateBefore(rawMeta, cur+1), Metadata: []byte{}})
	}
	for i, e := range r.events {
		recs = append(recs, &record{Stream: r.stream, Revision: uint64(cur + 1 + int64(i)), ID: e.ID,
			Type: e.Type, JSON: e.JSON, Metadata: e.Metadata, Data: e.Data})
	}
	pos, err := s.write(buf, recs)
	return writeResult{revision: cur + int64(len(r.events)), position: pos}, err
}

func (s *store) lastRevOf(stream string) (int64, error) {
	h, err := s.ov.head(stream)
	return h.last, err
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
func (s *store) idempotent(stream string, cur int64, softDeleted bool, r *writeReq) (writeResult, bool, error) {
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
		rev, ok, err := s.ov.findID(stream, r.events[0].ID)
		if err != nil || !ok {
			return writeResult{}, false, err
		}
		first = rev
	}
	if first > cur {
		return writeResult{}, false, nil
	}
	var last revEntry
	for i, e := range r.events {
		rev := first + int64(i)
		if rev <= cur {
			var err error
			if last, err = s.ov.entry(stream, rev); err != nil {
				return writeResult{}, false, err
			}
		}
		if rev > cur || last.id != e.ID {
			if i == 0 && firstNewIsAppend {
				return writeResult{}, false, nil
			}
			return writeResult{revision: cur, wrong: &wrongExpected{current: cur, expected: r.expected}}, true, nil
		}
	}
	return writeResult{revision: first + int64(len(r.events)) - 1, position: last.pos}, true, nil
}

// write encodes records at the end of the log buffer, the last one closing the append, stages their index
// entries and returns the position of the last one.
func (s *store) write(buf *[]byte, recs []*record) (uint64, error) {
	created := s.now().UnixNano() / 100
	var pos uint64
	for i, r := range recs {
		r.Pos = s.end
		r.Created = created
		r.Commit = i == len(recs)-1
		*buf = appendRecord(*buf, r)
		s.end += uint64(r.size())
		if err := s.ov.add(r); err != nil {
			return 0, err
		}
		pos = r.Pos
	}
	return pos, nil
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
func (s *store) streamPage(stream string, from int64, backwards bool, limit int) ([]span, []int64, streamStatus, time.Duration, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, nil, streamNotFound, 0, errStoreClosed
	}
	st, err := s.readHead(stream)
	if err != nil || st == nil {
		return nil, nil, streamNotFound, 0, err
	}
	if st.tomb != 0 {
		return nil, nil, streamDeleted, 0, nil
	}
	last := st.last
	meta, _ := st.meta(stream)
	if meta.tb == deletedRevision || last < 0 {
		return nil, nil, streamNotFound, 0, nil
	}
	first := int64(0)
	if meta.tb > first {
		first = meta.tb
	}
	if meta.maxCount > 0 && last-meta.maxCount+1 > first {
		first = last - meta.maxCount + 1
	}
	lo, hi := max(from, first), last // forwards
	if backwards {
		lo, hi = first, min(from, last)
	}
	if lo > hi || limit <= 0 {
		return nil, nil, streamOK, meta.maxAge, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: revKey(stream, lo), UpperBound: revKey(stream, hi+1)})
	if err != nil {
		return nil, nil, streamOK, 0, err
	}
	var spans []span
	var revs []int64
	add := func() error {
		e, err := decodeRev(it.Value())
		if err != nil {
			return err
		}
		rev := int64(binary.BigEndian.Uint64(it.Key()[len(it.Key())-8:]))
		if want := lo + int64(len(spans)); backwards {
			want = hi - int64(len(spans))
			if rev != want {
				return fmt.Errorf("kurrentnode: index: %q lacks revision %d: %w", stream, want, pebble.ErrCorruption)
			}
		} else if rev != want {
			return fmt.Errorf("kurrentnode: index: %q lacks revision %d: %w", stream, want, pebble.ErrCorruption)
		}
		spans = append(spans, span{pos: e.pos, size: uint64(e.size)})
		revs = append(revs, rev)
		return nil
	}
	if backwards {
		for ok := it.Last(); ok && len(spans) < limit && err == nil; ok = it.Prev() {
			err = add()
		}
	} else {
		for ok := it.First(); ok && len(spans) < limit && err == nil; ok = it.Next() {
			err = add()
		}
	}
	if err = errors.Join(err, it.Error(), it.Close()); err == nil && len(spans) < limit && int64(len(spans)) < hi-lo+1 {
		err = fmt.Errorf("kurrentnode: index: %q lacks revisions between %d and %d: %w", stream, lo, hi, pebble.ErrCorruption)
	}
	if err != nil {
		return nil, nil, streamOK, 0, fmt.Errorf("kurrentnode: index: %w", err)
	}
	return spans, revs, streamOK, meta.maxAge, nil
}

// readHead returns the visible head of a stream, or nil. Called under mu.
func (s *store) readHead(stream string) (*streamHead, error) {
	v, err := dbGet(s.db, headKey(stream))
	if err != nil || v == nil {
		return nil, err
	}
	return decodeHead(v)
}

// streamEnd returns the last visible revision of a stream (-1 if none) and whether it is tombstoned.
func (s *store) streamEnd(stream string) (int64, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return -1, false, errStoreClosed
	}
	st, err := s.readHead(stream)
	if err != nil || st == nil {
		return -1, false, err
	}
	return st.last, st.tomb != 0, nil
}

// allPage returns up to limit visible positions of $all: forwards from `from` (inclusive) or backwards
// from strictly before `from`, with their sizes, bounded to about maxBytes.
func (s *store) allPage(from uint64, backwards bool, limit int, maxBytes uint64) ([]span, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	opts := &pebble.IterOptions{LowerBound: allKey(from), UpperBound: allKey(s.visible)}
	if backwards {
		opts = &pebble.IterOptions{LowerBound: allKey(0), UpperBound: allKey(min(from, s.visible))}
	}
	it, err := s.db.NewIter(opts)
	if err != nil {
		return nil, fmt.Errorf("kurrentnode: index: %w", err)
	}
	var spans []span
	var total uint64
	step := it.Next
	ok := it.First()
	if backwards {
		step, ok = it.Prev, it.Last()
	}
	for ; ok && len(spans) < limit; ok = step() {
		k, v := it.Key(), it.Value()
		if len(k) != 9 || len(v) != 4 {
			err = fmt.Errorf("kurrentnode: index: bad $all entry: %w", pebble.ErrCorruption)
			break
		}
		sz := uint64(binary.BigEndian.Uint32(v))
		if len(spans) > 0 && total+sz > maxBytes {
			break
		}
		spans = append(spans, span{binary.BigEndian.Uint64(k[1:]), sz})
		total += sz
	}
	if err = errors.Join(err, it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("kurrentnode: index: %w", err)
	}
	return spans, nil
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
	var sp span
	if s.closed {
		s.mu.RUnlock()
		return nil, errStoreClosed
	}
	st, err := s.readHead(stream)
	ok := err == nil && st != nil && rev >= 0 && rev <= st.last
	if ok {
		var v []byte
		if v, err = dbGet(s.db, revKey(stream, rev)); err == nil {
			var e revEntry
			e, err = decodeRev(v)
			sp = span{pos: e.pos, size: uint64(e.size)}
		}
	}
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	recs, err := s.readSpans([]span{sp})
	if err != nil {
		return nil, err
	}
	return &recs[0], nil
}
