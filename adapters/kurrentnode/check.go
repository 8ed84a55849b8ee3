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
	Path    string
	Size    int64 // bytes in the file
	Groups  int   // valid group commits
	Appends int   // appends (of one or more records) in them
	Records int   // records in them, every one verified against its checksum
	Streams int   // distinct streams (metastreams included) among those records
	End     int64 // where the valid log ends
	// Torn is the size of a torn last group after End: left by a crash, never acknowledged, cut at start.
	Torn int64
	// Damage is damage other than a torn last group: the node refuses to start until `dossier node repair`.
	Damage *LogDamage
}

// OK reports a log the node starts on without cutting anything.
func (r CheckReport) OK() bool { return r.Damage == nil && r.Torn == 0 }

// Check verifies the event log in dir (every group frame and every record's checksum) without changing it.
// The node must be stopped: a running node holds the directory (ErrDirInUse).
func Check(dir string) (CheckReport, error) {
	unlock, err := lockStopped(dir)
	if err != nil {
		return CheckReport{}, err
	}
	defer unlock()
	f, err := os.Open(filepath.Join(dir, logFileName))
	if err != nil {
		return CheckReport{}, fmt.Errorf("kurrentnode: open event log: %w", err)
	}
	defer f.Close()
	return check(f, dir)
}

func check(f *os.File, dir string) (CheckReport, error) {
	path := filepath.Join(dir, logFileName)
	st, err := f.Stat()
	if err != nil {
		return CheckReport{}, err
	}
	streams := map[string]struct{}{}
	res, err := scanLog(f, st.Size(), func(r record) error {
		streams[r.Stream] = struct{}{}
		return nil
	})
	if err != nil {
		return CheckReport{}, err
	}
	if res, err = applyCleanMark(f, st.Size(), res, dir); err != nil {
		return CheckReport{}, err
	}
	if res.Damage != nil {
		res.Damage.Path = path
	}
	return CheckReport{Path: path, Size: st.Size(), Groups: res.Groups, Appends: res.Appends, Records: res.Records,
		Streams: len(streams), End: res.End, Torn: res.Torn, Damage: res.Damage}, nil
}

// RepairReport is what `dossier node repair` did.
type RepairReport struct {
	Before CheckReport // the check before the repair
	Copy   string      // where the whole file was copied before it was cut ("": nothing to repair)
	CutAt  int64       // the new end of the log
}

// Repair cuts the event log in dir back to its last valid group: at the damage Check reports (dropping
// everything after it, which Before describes), or the torn last group. It first copies the whole file aside,
// beside it, named with now. The node must be stopped.
func Repair(dir string, now time.Time) (RepairReport, error) {
	unlock, err := lockStopped(dir)
	if err != nil {
		return RepairReport{}, err
	}
	defer unlock()
	path := filepath.Join(dir, logFileName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return RepairReport{}, fmt.Errorf("kurrentnode: open event log: %w", err)
	}
	defer f.Close()
	rep := RepairReport{}
	if rep.Before, err = check(f, dir); err != nil {
		return rep, err
	}
	if rep.Before.OK() {
		return rep, nil
	}
	rep.CutAt = rep.Before.End
	rep.Copy = fmt.Sprintf("%s.damaged-%s", path, now.UTC().Format("20060102T150405Z"))
	if err := copyDurable(f, rep.Copy); err != nil {
		return RepairReport{Before: rep.Before}, err
	}
	if err := syncDir(dir); err != nil {
		return RepairReport{Before: rep.Before}, err
	}
	// The index may reflect what the cut drops: the next start rebuilds it from the log.
	if err := os.RemoveAll(filepath.Join(dir, indexDirName)); err != nil {
		return rep, fmt.Errorf("kurrentnode: remove event index: %w", err)
	}
	if err := f.Truncate(rep.CutAt); err != nil {
		return rep, fmt.Errorf("kurrentnode: cut event log at %d: %w", rep.CutAt, err)
	}
	if err := f.Sync(); err != nil {
		return rep, fmt.Errorf("kurrentnode: sync event log: %w", err)
	}
	// The log no longer ends where the clean stop recorded: the next start reads it as after a crash.
	return rep, removeCleanMark(dir)
}

// copyDurable copies f to a new file at dst and syncs it.
func copyDurable(f *os.File, dst string) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("kurrentnode: copy event log aside: %w", err)
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
		return fmt.Errorf("kurrentnode: copy event log aside: %w", err)
	}
	return nil
}

// lockStopped takes the data directory's lock, as a node does, so that an operator command never works on the
// log of a running node. A directory without a lock file has never had a node.
func lockStopped(dir string) (func(), error) {
	lock, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, logFileName)); err != nil {
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
