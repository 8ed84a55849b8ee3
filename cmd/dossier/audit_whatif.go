package main

import "errors"

// AuditWhatIfCmd is not built yet.
type AuditWhatIfCmd struct{}

// Run refuses until the command is built.
func (c *AuditWhatIfCmd) Run() error { return errors.New("not built yet") }
