package kurrentnode

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// CheckReport describes a stopped node's event log, as `dossier node check` prints it.
type CheckReport struct {
	Path     string // the data directory
	Size     int64  // bytes in the log (every segment)
	Segments int    // segment files
	Sealed   int    // of which sealed
	Groups   int    // valid group commits
	Appends  int    // appends (of one or more records) in them
	Records  int    // records in them, every one verified against its checksum
	Streams  int    // distinct streams (metastreams included) among those records
	End      int64  // where the valid log ends
	// Torn is the size of a torn last group after End: left by a crash, never acknowledged, cut at start.
	Torn int64
	// Damage is damage other than a torn last group: the node refuses to start until `dossier node repair`.
	Damage *LogDamage
	// IndexTables is how many table files of the index were verified, every block against its checksum
	// (Check only; start-up reads only the tables no earlier start verified).
	IndexTables int
	// IndexDamage names a damaged index table ("": none). Not log damage: the next start rebuilds the index
	// from the log (Check forgets the list of verified tables so that the start finds it).
	IndexDamage string
}

// OK reports a log the node starts on without cutting anything.
func (r CheckReport) OK() bool { return r.Damage == nil && r.Torn == 0 }

// Check verifies every segment of the event log in dir (header, every group frame and every record's checksum,
// seal) without changing it. The node must be stopped: a running node holds the directory (ErrDirInUse); see
// CheckSealed for a running node.
func Check(dir string) (CheckReport, error) {
	unlock, err := lockStopped(dir)
	if err != nil {
		return CheckReport{}, err
	}
	defer unlock()
	l, err := openSegLog(dir, true)
	if err != nil {
		return CheckReport{}, err
	}
	defer l.Close()
	rep, err := check(l, dir, true)
	if err != nil {
		return rep, err
	}
	if rep.IndexTables, err = VerifyIndexTables(dir); err != nil {
		rep.IndexDamage = err.Error()
		forgetVerified(dir)
	}
	return rep, nil
}

// CheckSealed verifies every record of every sealed segment of the event log in dir, which a running node
// never writes again: what an operator runs periodically, node running, to find damage start-up does not read
// (start-up verifies only the seals of the segments the index already reflects). The last segment (the one
// being written) is left out, as is a segment sealed after the listing.
func CheckSealed(dir string) (CheckReport, error) {
	l, err := openSegLog(dir, true)
	if err != nil {
		return CheckReport{}, err
	}
	defer l.Close()
	segs := l.list()
	if len(segs) == 0 {
		return CheckReport{}, fmt.Errorf("kurrentnode: no event log in %s", dir)
	}
	sealed := segs[:len(segs)-1]
	l.segs.Store(&sealed)
	defer l.segs.Store(&segs) // Close closes them all
	return check(l, dir, false)
}

func check(l *segLog, dir string, openEnded bool) (CheckReport, error) {
	streams := map[string]struct{}{}
	res, err := scanSegments(l, segHeaderSize, openEnded, func(r record) error {
		streams[r.Stream] = struct{}{}
		return nil
	}, nil)
	if err != nil {
		return CheckReport{}, err
	}
	if openEnded {
		if res, err = applyCleanMark(l, res, dir); err != nil {
			return CheckReport{}, err
		}
	}
	if res.Damage != nil {
		res.Damage.Path = l.pathAt(res.Damage.Offset)
	}
	return CheckReport{Path: dir, Size: l.end(), Segments: len(l.list()), Sealed: res.Sealed, Groups: res.Groups,
		Appends: res.Appends, Records: res.Records, Streams: len(streams), End: res.End, Torn: res.Torn,
		Damage: res.Damage}, nil
}

// RepairReport is what `dossier node repair` did.
type RepairReport struct {
	Before CheckReport // the check before the repair
	// Copy is where the segment that was cut was copied whole before the cut ("": none was cut).
	Copy string
	// SetAside are the segments after the cut, renamed aside whole (the log no longer holds them).
	SetAside []string
	CutAt    int64 // the new end of the log
}

// Repaired reports whether the repair changed the log.
func (r RepairReport) Repaired() bool { return r.Copy != "" || len(r.SetAside) > 0 }

// Repair cuts the event log in dir back to its last valid group: at the damage Check reports (dropping
// everything after it, which Before describes), or the torn last group. The segment holding the cut is first
// copied whole beside itself, and the segments after it are renamed aside, all named with now. The node must be
// stopped.
func Repair(dir string, now time.Time) (RepairReport, error) {
	unlock, err := lockStopped(dir)
	if err != nil {
		return RepairReport{}, err
	}
	defer unlock()
	l, err := openSegLog(dir, false)
	if err != nil {
		return RepairReport{}, err
	}
	defer l.Close()
	rep := RepairReport{}
	if rep.Before, err = check(l, dir, true); err != nil {
		return rep, err
	}
	if rep.Before.OK() {
		return rep, nil
	}
	rep.CutAt = rep.Before.End
	suffix := ".damaged-" + now.UTC().Format("20060102T150405Z")
	segs := l.list()
	i := max(l.find(segs, rep.CutAt), 0)
	var cut *segment
	if i < len(segs) && segs[i].base+segs[i].size <= rep.CutAt {
		i++ // the cut falls at the end of a whole segment (the next one is missing or damaged from its start)
	} else if i < len(segs) && segs[i].base < rep.CutAt {
		cut = segs[i]
		rep.Copy = cut.path + suffix
		if err := copyDurable(cut.f.(diskFile).File, rep.Copy); err != nil {
			return RepairReport{Before: rep.Before}, err
		}
		i++
	}
	for _, sg := range segs[i:] {
		if err := os.Rename(sg.path, sg.path+suffix); err != nil {
			return rep, fmt.Errorf("kurrentnode: set log segment aside: %w", err)
		}
		rep.SetAside = append(rep.SetAside, sg.path+suffix)
	}
	if err := syncDir(dir); err != nil {
		return rep, err
	}
	// The index may reflect what the cut drops: the next start rebuilds it from the log.
	if err := os.RemoveAll(filepath.Join(dir, indexDirName)); err != nil {
		return rep, fmt.Errorf("kurrentnode: remove event index: %w", err)
	}
	if cut != nil {
		if err := cut.f.Truncate(rep.CutAt - cut.base); err != nil {
			return rep, fmt.Errorf("kurrentnode: cut event log at %d: %w", rep.CutAt, err)
		}
		if err := cut.f.Sync(); err != nil {
			return rep, fmt.Errorf("kurrentnode: sync event log: %w", err)
		}
	}
	// The log no longer ends where the clean stop recorded: the next start reads it as after a crash.
	return rep, removeCleanMark(dir)
}

// copyDurable copies f to a new file at dst and syncs it.
func copyDurable(f *os.File, dst string) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("kurrentnode: copy log segment aside: %w", err)
	}
	_, err = io.Copy(out, io.NewSectionReader(f, 0, 1<<62))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("kurrentnode: copy log segment aside: %w", err)
	}
	return nil
}

// lockStopped takes the data directory's lock, as a node does, so that an operator command never works on the
// log of a running node. A directory without a lock file has never had a node.
func lockStopped(dir string) (func(), error) {
	lock, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, segName(0))); err != nil {
			return nil, fmt.Errorf("kurrentnode: no event log in %s: %w", dir, err)
		}
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kurrentnode: lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w (%s): stop the node first", ErrDirInUse, dir)
	}
	return func() { lock.Close() }, nil
}
