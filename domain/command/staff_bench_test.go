package command_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/staff"
)

// readingStore runs every command as an ordinary Update, blind or not, as RecordMemberDataOpened did before
// session 8: read the member's whole log, decide, append at its revision, decided again after a lost race.
type readingStore struct{ command.EventStore }

func (s readingStore) Update(ctx context.Context, stream event.StreamID, cmd event.Command, decide func([]event.Envelope) ([]any, error)) (event.Commit, error) {
	if cmd.Blind {
		cmd.Blind, cmd.RetryOnConflict = false, 10
	}
	return s.EventStore.Update(ctx, stream, cmd, decide)
}

// BenchmarkRecordMemberDataOpened records a caseworker's opening of a case file of a member whose access log holds
// about `log` events, through the real client and the in-memory node (both in this process, so the CPU figure
// counts the server's work too): "read" is the ordinary Update the command used before (load and decode the whole
// log, append at its revision), "blind" the append at Any it uses now. Each variant gets fresh logs, spread over
// enough members that its own appends lengthen them little (log-events/op says how long they were on average).
// Read cpu-ms/op (the process's CPU time per opening), which contention distorts less than ns/op:
//
//	go test -c -o /tmp/command.test ./domain/command/
//	for i in 1 2 3 4 5 6; do /tmp/command.test -test.run '^$' -test.bench RecordMemberDataOpened -test.benchmem; done
//
// Each run measures read then blind for each size, so the loop alternates them (-count would run each one's
// repetitions in a row).
func BenchmarkRecordMemberDataOpened(b *testing.B) {
	env := kurrentdbtest.Start(b, staff.Definitions())
	ctx := b.Context()
	caseworker := uuid.New()
	for _, size := range []struct{ log, members int }{{10, 500}, {1000, 40}} {
		for _, variant := range []string{"read", "blind"} {
			b.Run(fmt.Sprintf("log=%d/%s", size.log, variant), func(b *testing.B) {
				var store command.EventStore = env.Store
				if variant == "read" {
					store = readingStore{env.Store}
				}
				keys, err := keyedhash.FromHex(staffTestKeyHex)
				if err != nil {
					b.Fatal(err)
				}
				h, err := command.NewStaff(command.Runtime{Store: store}, keys, caseHasher{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				members := make([]uuid.UUID, size.members)
				lengths := make([]int, size.members)
				past := make([]any, size.log)
				for i := range past {
					past[i] = staff.MemberDataOpened{StaffID: caseworker, Role: staff.RoleCaseworker, What: staff.ViewCaseFile, Subject: "MSA-2026-7KQ2-M9XD-3F0A"}
				}
				for i := range members {
					members[i] = uuid.New()
					id := uuid.New()
					meta := event.Metadata{CorrelationID: id, CausationID: id, CommandID: id,
						Actor: event.Actor{ID: caseworker.String(), Role: event.RoleCaseworker}, OccurredAt: time.Now().UTC()}
					if _, err := env.Store.Append(ctx, staff.AccessStreamFor(members[i]), esdb.NoStream{}, meta, past...); err != nil {
						b.Fatal(err)
					}
					lengths[i] = size.log
				}
				b.ReportAllocs()
				read, ops := 0, 0
				cpu := cpuTime()
				for b.Loop() {
					i := ops % len(members)
					read += lengths[i]
					m := command.Meta{Actor: event.Actor{ID: caseworker.String(), Role: event.RoleCaseworker}, CorrelationID: uuid.New(), CommandID: uuid.New()}
					if _, err := h.RecordMemberDataOpened(ctx, m, caseworker, staff.RoleCaseworker, members[i], staff.ViewCaseFile, "MSA-2026-7KQ2-M9XD-3F0A"); err != nil {
						b.Fatal(err)
					}
					lengths[i]++
					ops++
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(ops), "cpu-ms/op")
				b.ReportMetric(float64(read)/float64(ops), "log-events/op")
			})
		}
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
