package kurrentdb

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/domain/event"
)

// ErrStopReading, returned by a ReadAll callback, ends the read early; ReadAll then returns nil.
var ErrStopReading = errors.New("kurrentdb: stop reading")

// ReadAll reads $all through the official client and calls fn with each event that is not the store's own (types
// starting with "$"), as stored, in order: forwards from the commit position from (inclusive; 0: the start), or
// backwards from it (exclusive: the events before it; 0: the end of the log). It reads in pages of page records, each
// page one call (a long read never holds the official client for the whole log, and a call retried after a
// transient failure never delivers an event twice), until the log ends or fn returns an error: ErrStopReading ends
// the read with nil, any other error is returned as is. name names the operation in errors.
func (c *Client) ReadAll(ctx context.Context, name string, backwards bool, from, page uint64, fn func(event.Record) error) error {
	dir := esdb.Forwards
	var pos esdb.AllPosition = esdb.Start{}
	if backwards {
		dir, pos = esdb.Backwards, esdb.End{}
	}
	if from > 0 {
		pos = esdb.Position{Commit: from, Prepare: from}
	}
	var last *esdb.Position // the last record read, the store's own included
	beyond := func(p esdb.Position) bool {
		if last == nil {
			return true
		}
		c := comparePositions(p, *last)
		if backwards {
			return c < 0
		}
		return c > 0
	}
	count := page
	for {
		var n, fresh uint64
		var stop error
		err := c.Call(ctx, name, func(ctx context.Context, es *esdb.Client) error {
			n, fresh = 0, 0
			rs, err := es.ReadAll(ctx, esdb.ReadAllOptions{Direction: dir, From: pos}, count)
			if err != nil {
				return err
			}
			defer rs.Close()
			for {
				re, err := rs.Recv()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				n++
				ev := re.Event
				if ev == nil || !beyond(ev.Position) {
					continue // the last record of the page before (forwards, From is inclusive), or one a retried call delivered
				}
				p := ev.Position
				last, fresh = &p, fresh+1
				if strings.HasPrefix(ev.EventType, "$") {
					continue
				}
				if err := fn(RecordOf(ev)); err != nil {
					stop = err
					return nil
				}
			}
		})
		switch {
		case errors.Is(stop, ErrStopReading):
			return nil
		case stop != nil:
			return stop
		case err != nil:
			return err
		case n < count || fresh == 0:
			return nil
		}
		pos = *last
		if !backwards {
			count = page + 1 // forwards, From is inclusive: the next page starts with this one's last record
		}
	}
}

// comparePositions orders two positions of $all.
func comparePositions(a, b esdb.Position) int {
	switch {
	case a.Commit != b.Commit:
		if a.Commit < b.Commit {
			return -1
		}
		return 1
	case a.Prepare < b.Prepare:
		return -1
	case a.Prepare > b.Prepare:
		return 1
	}
	return 0
}
