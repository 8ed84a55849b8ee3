package main

import "errors"

// AuditExportCmd is not built yet.
type AuditExportCmd struct{}

// Run refuses until the command is built.
func (c *AuditExportCmd) Run() error { return errors.New("not built yet") }
