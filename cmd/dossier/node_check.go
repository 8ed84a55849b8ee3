package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
)

// errLogDamaged makes `dossier node check` exit non-zero on a damaged log (after printing the summary).
var errLogDamaged = errors.New("event log damaged: the node refuses to start on it (see `dossier node repair`)")

// NodeCheckCmd verifies a stopped node's event log, or the sealed segments of a running node's.
type NodeCheckCmd struct {
	Data   string `default:"./var/events" env:"DOSSIER_NODE_DATA" help:"Data directory of the event log (the node must be stopped, unless --sealed)."`
	Sealed bool   `help:"Verify only the sealed log segments, which a running node never writes again (run it periodically: start-up reads only their seals)."`

	stdout io.Writer // nil: os.Stdout
}

// Run prints the summary on stdout; it fails when the log is damaged (a torn last group is not damage: the
// node cuts it at start).
func (c *NodeCheckCmd) Run() error {
	check := kurrentnode.Check
	if c.Sealed {
		check = kurrentnode.CheckSealed
	}
	rep, err := check(c.Data)
	if err != nil {
		return err
	}
	printCheck(orStdout(c.stdout), rep)
	if rep.Damage != nil {
		return errLogDamaged
	}
	if rep.IndexDamage != "" {
		return errIndexDamaged
	}
	return nil
}

// errIndexDamaged makes `dossier node check` exit non-zero on a damaged index table (the log is sound: the next
// start rebuilds the index from it, which takes minutes on a large log).
var errIndexDamaged = errors.New("event index damaged: the next start rebuilds it from the log")

// NodeRepairCmd cuts a stopped node's damaged event log back to its last valid group.
type NodeRepairCmd struct {
	Data string `default:"./var/events" env:"DOSSIER_NODE_DATA" help:"Data directory of the event log (the node must be stopped)."`

	stdout io.Writer // nil: os.Stdout
}

// Run copies the log aside and cuts it, printing what it found and did.
func (c *NodeRepairCmd) Run() error {
	rep, err := kurrentnode.Repair(c.Data, time.Now())
	if err != nil {
		return err
	}
	w := orStdout(c.stdout)
	printCheck(w, rep.Before)
	if !rep.Repaired() {
		fmt.Fprintln(w, "nothing to repair")
		return nil
	}
	if rep.Copy != "" {
		fmt.Fprintf(w, "copied the damaged segment to %s\n", rep.Copy)
	}
	for _, p := range rep.SetAside {
		fmt.Fprintf(w, "set the later segment aside as %s\n", p)
	}
	fmt.Fprintf(w, "cut the log at offset %d (%d bytes dropped)\n", rep.CutAt, rep.Before.Size-rep.CutAt)
	return nil
}

func orStdout(w io.Writer) io.Writer {
	if w == nil {
		return os.Stdout
	}
	return w
}

// printCheck writes the summary of a check. Stream names are identifiers (category and uuid), not personal data.
func printCheck(w io.Writer, r kurrentnode.CheckReport) {
	fmt.Fprintf(w, "event log:   %s (%d bytes in %d segments, %d sealed)\n", r.Path, r.Size, r.Segments, r.Sealed)
	fmt.Fprintf(w, "valid:       %d bytes: %d group commits, %d appends, %d records (checksums verified), %d streams\n",
		r.End, r.Groups, r.Appends, r.Records, r.Streams)
	switch {
	case r.Damage != nil:
		d := r.Damage
		fmt.Fprintf(w, "status:      DAMAGED at offset %d: %s\n", d.Offset, d.Reason)
		fmt.Fprintf(w, "at or after: %d readable events, %d unreadable records, %d streams\n", d.Events, d.Undecodable, len(d.Streams))
		if len(d.Streams) > 0 {
			fmt.Fprintf(w, "streams:     %s\n", strings.Join(d.Streams, " "))
		}
		fmt.Fprintf(w, "the node refuses to start; `dossier node repair` sets the damaged segment aside and cuts the log at %d\n", d.Offset)
	case r.Torn > 0:
		fmt.Fprintf(w, "status:      ok, with a torn last group of %d bytes at offset %d (left by a crash, never acknowledged; cut at the next start)\n", r.Torn, r.End)
	default:
		fmt.Fprintln(w, "status:      ok")
	}
	if r.IndexDamage != "" {
		fmt.Fprintf(w, "index:       DAMAGED: %s\n", r.IndexDamage)
	} else if r.IndexTables > 0 {
		fmt.Fprintf(w, "index:       ok (%d tables, checksums verified)\n", r.IndexTables)
	}
}
