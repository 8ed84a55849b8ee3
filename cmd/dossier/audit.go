package main

// AuditCmd groups the auditor's commands (wired as `dossier audit`). Each subcommand lives in its own file:
// audit_export.go (histories as JSON Lines), audit_tlog.go (the Merkle tree: verify, check, sign, heads) and
// audit_whatif.go (a past period replayed under another catalogue).
type AuditCmd struct {
	Export AuditExportCmd `cmd:"" help:"Export the history of a member, a case or a period as JSON Lines."`
	Verify AuditVerifyCmd `cmd:"" help:"Recompute the Merkle tree of the event log and check every signed tree head."`
	Check  AuditCheckCmd  `cmd:"" help:"Verify an exported bundle offline with the audit public key."`
	Sign   AuditSignCmd   `cmd:"" help:"Append a signed tree head now."`
	Heads  AuditHeadsCmd  `cmd:"" help:"Print the signed tree heads of the log as JSON Lines, for auditors to keep outside Dossier (verify --head)."`
	PubKey AuditPubKeyCmd `cmd:"" name:"public-key" help:"Print the public key of the audit signing key."`
	WhatIf AuditWhatIfCmd `cmd:"" name:"what-if" help:"Replay the submissions of a period under another catalogue version and report what would have differed."`
}
