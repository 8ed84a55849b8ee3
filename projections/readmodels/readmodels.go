// Package readmodels is the one list of Dossier's read models: every projection the runner keeps up to date
// (`serve`, `migrate`, `projections status|rebuild` all read it) and the queries the HTTP layer reads them with.
// Adding a read model is adding its package, then one line in New (and a field in Queries if something reads it).
package readmodels

import (
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/accounts"
	"github.com/msa-dossier/dossier/projections/appointments"
	"github.com/msa-dossier/dossier/projections/auditstreams"

	"github.com/msa-dossier/dossier/projections/audittree"
	"github.com/msa-dossier/dossier/projections/casefiles"
	"github.com/msa-dossier/dossier/projections/casequeues"
	"github.com/msa-dossier/dossier/projections/consultations"
	"github.com/msa-dossier/dossier/projections/conversations"
	"github.com/msa-dossier/dossier/projections/documentsubmissions"
	"github.com/msa-dossier/dossier/projections/memberaccesses"
	"github.com/msa-dossier/dossier/projections/memberdirectory"
	"github.com/msa-dossier/dossier/projections/memberdocuments"
	"github.com/msa-dossier/dossier/projections/memberrequests"
	"github.com/msa-dossier/dossier/projections/savedestimates"
	"github.com/msa-dossier/dossier/projections/staffdirectory"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

// Queries are the read models' queries, one field per read model the HTTP layer reads (httpapi.Deps embeds it).
// A nil field is a read model this server does not read.
type Queries struct {
	Accounts  *accounts.Queries
	Directory *memberdirectory.Queries
	Queues    *casequeues.Queries
	Requests  *memberrequests.Queries
	CaseFiles *casefiles.Queries
	Finance   *consultations.Queries
	Estimates *savedestimates.Queries
	Accesses  *memberaccesses.Queries      // the member's log of staff openings of their data
	Deposits  *documentsubmissions.Queries // members' deposits of documents, the intake queue, a case's documents
	// StaffNames names the staff ids of case views (assignees, timeline actors), on staff routes only; nil: ids
	// without names.
	StaffNames *staffdirectory.Queries
	// Appointments: the member's appointments, the staff calendars, the free slots and the offers of a booking.
	Appointments *appointments.Queries
	// Inbox: the documents the fund published to each member (decision letters, attestations, others).
	Inbox *memberdocuments.Queries
	// Conversations: the member's conversations, the queues' conversations awaiting a reply, their counts.
	Conversations *conversations.Queries
	// AuditStreams: each stream's member and case, for the auditor's histories (adapters/audithistory).
	AuditStreams *auditstreams.Queries

	// AuditTree: the Merkle tree over the log (adapters/auditlog signs its heads and proves events with it).
	AuditTree *audittree.Queries
}

// New returns every projection, in the order the runner lists them, and the queries that read them from db. The
// member directory indexes NIRs under nirHash, a keyed hash of its own purpose (see memberdirectory.NIRHash). A nil
// db gives the projections only (the zero Queries): what a command that only migrates or rebuilds needs.
func New(db *sqldb.DB, nirHash memberdirectory.NIRHash) ([]projections.Projection, Queries) {
	var q Queries
	read := db != nil
	list := []projections.Projection{
		streamactivity.New(),
		with(read, accounts.New(), &q.Accounts, func() *accounts.Queries { return accounts.NewQueries(db, nil) }),
		with(read, memberdirectory.New(nirHash), &q.Directory, func() *memberdirectory.Queries {
			return memberdirectory.NewQueries(db, nirHash, nil)
		}),
		with(read, casequeues.New(), &q.Queues, func() *casequeues.Queries { return casequeues.NewQueries(db, nil) }),
		with(read, memberrequests.New(), &q.Requests, func() *memberrequests.Queries {
			return memberrequests.NewQueries(db, nil)
		}),
		with(read, casefiles.New(), &q.CaseFiles, func() *casefiles.Queries { return casefiles.NewQueries(db) }),
		with(read, consultations.New(), &q.Finance, func() *consultations.Queries { return consultations.NewQueries(db) }),
		with(read, savedestimates.New(), &q.Estimates, func() *savedestimates.Queries {
			return savedestimates.NewQueries(db)
		}),
		with(read, memberaccesses.New(), &q.Accesses, func() *memberaccesses.Queries {
			return memberaccesses.NewQueries(db)
		}),
		with(read, documentsubmissions.New(), &q.Deposits, func() *documentsubmissions.Queries { return documentsubmissions.NewQueries(db) }),
		with(read, staffdirectory.New(), &q.StaffNames, func() *staffdirectory.Queries {
			return staffdirectory.NewQueries(db)
		}),
		with(read, appointments.New(), &q.Appointments, func() *appointments.Queries { return appointments.NewQueries(db) }),
		with(read, memberdocuments.New(), &q.Inbox, func() *memberdocuments.Queries { return memberdocuments.NewQueries(db) }),
		with(read, conversations.New(), &q.Conversations, func() *conversations.Queries { return conversations.NewQueries(db, nil) }),
		with(read, auditstreams.New(), &q.AuditStreams, func() *auditstreams.Queries { return auditstreams.NewQueries(db) }),

		with(read, audittree.New(), &q.AuditTree, func() *audittree.Queries { return audittree.NewQueries(db) }),
	}
	return list, q
}

// Projections returns every projection (New without a database).
func Projections(nirHash memberdirectory.NIRHash) []projections.Projection {
	list, _ := New(nil, nirHash)
	return list
}

// with sets *field to the queries of p (when read) and returns p: a read model and its queries on one line.
func with[Q any](read bool, p projections.Projection, field *Q, queries func() Q) projections.Projection {
	if read {
		*field = queries()
	}
	return p
}
