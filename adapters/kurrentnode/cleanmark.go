package kurrentnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// The clean-stop mark closes the one gap group frames leave: damage confined to the last group looks like a
// crash during its write. A node that stops cleanly records where its log ends in `events.clean` (synced, then
// the directory synced); a node that starts removes it, durably, before it accepts any write. So a mark present
// at start means no write can have been torn since: a log that does not end exactly there, whole, is damage,
// even in its last group (and a log cut short at a group boundary is caught too). After a crash there is no mark
// and a torn last group is cut as before.
const cleanFileName = "events.clean"

// writeCleanMark records end as the end of a cleanly stopped log in dir.
func writeCleanMark(dir string, end uint64) error {
	b := binary.BigEndian.AppendUint64(nil, end)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	tmp := filepath.Join(dir, cleanFileName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("kurrentnode: clean-stop mark: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, cleanFileName))
	}
	if err != nil {
		return fmt.Errorf("kurrentnode: clean-stop mark: %w", err)
	}
	return syncDir(dir)
}

// readCleanMark returns the end recorded by a clean stop, if there is a mark. A mark that does not verify is
// treated as absent (as after a crash): it only ever adds checks.
func readCleanMark(dir string) (int64, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, cleanFileName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("kurrentnode: clean-stop mark: %w", err)
	}
	if len(b) != 12 || crc32.Checksum(b[:8], crcTable) != binary.BigEndian.Uint32(b[8:]) {
		return 0, false, nil
	}
	return int64(binary.BigEndian.Uint64(b)), true, nil
}

// removeCleanMark removes the mark durably (before the node accepts writes, and after a repair).
func removeCleanMark(dir string) error {
	err := os.Remove(filepath.Join(dir, cleanFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kurrentnode: remove clean-stop mark: %w", err)
	}
	return syncDir(dir)
}

// applyCleanMark turns what a scan of a cleanly stopped log took for a torn last group (or a log ending before
// the mark) into damage.
func applyCleanMark(l *segLog, res scanResult, dir string) (scanResult, error) {
	if res.Damage != nil || dir == "" {
		return res, nil
	}
	end, ok, err := readCleanMark(dir)
	if err != nil || !ok || (res.Torn == 0 && res.End == end) {
		return res, err
	}
	reason := fmt.Sprintf("the node stopped cleanly with its log ending at %d, so nothing can be torn; the valid log ends at %d", end, res.End)
	if res.End > end {
		reason = fmt.Sprintf("the node stopped cleanly with its log ending at %d, and valid groups follow it up to %d", end, res.End)
		return damagedLog(l, res, end, reason)
	}
	return damagedLog(l, res, res.End, reason)
}
