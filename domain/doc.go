// Package domain holds Dossier's business model: pure Go that imports only the standard library,
// github.com/google/uuid and other domain packages. Infrastructure (the event store, SQL, HTTP, mail) lives in
// adapters and reaches the domain through the kernel in domain/event and the error kinds in domain/failure.
//
// # Glossary
//
// Identifiers are in English; the French terms below are how members and staff name the same things, and are kept
// only in member-facing text and where they are the domain's own (NIR).
//
//	adhérent                   member: a person covered by the fund, who uses the member space
//	demande                    service request: a member's request for a service from the catalogue
//	pièce (justificative)      document: a file a member supplies in support of a request
//	dépôt                      deposit: one upload of documents, checked before it is accepted
//	rendez-vous                appointment
//	accusé de réception        acknowledgement of receipt: the dated proof that a request or a deposit arrived
//	conseiller                 caseworker: a staff member who handles requests
//	superviseur                supervisor: a caseworker's manager, who assigns queues and reviews decisions
//	auditeur                   auditor: reads every fact and who caused it, changes nothing
//	file (d'attente)           queue: the requests waiting for a team of caseworkers
//	délai                      deadline: a legal or catalogue time limit on a request (CRPA)
//	silence vaut acceptation   silence rule: what the absence of a decision by the deadline means, per service
//	NIR                        the member's social security number (numéro d'inscription au répertoire); personal
//	                           data, never logged
//	caisse                     fund: the social security fund that runs Dossier (one tenant)
//
// # Vocabulary of the event store
//
//	stream      the ordered events of one aggregate instance, named "<category>-<uuid>" (event.StreamID)
//	revision    an event's place in its stream, from 0
//	position    an event's place in the global log ($all); read models report the position they have reached
//	command id  the idempotency key of a command; event ids derive from it (event.DeriveID)
package domain
