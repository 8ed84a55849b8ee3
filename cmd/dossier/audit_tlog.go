package main

import "errors"

// AuditVerifyCmd is not built yet.
type AuditVerifyCmd struct{}

// Run refuses until the command is built.
func (c *AuditVerifyCmd) Run() error { return errors.New("not built yet") }

// AuditCheckCmd is not built yet.
type AuditCheckCmd struct{}

// Run refuses until the command is built.
func (c *AuditCheckCmd) Run() error { return errors.New("not built yet") }

// AuditSignCmd is not built yet.
type AuditSignCmd struct{}

// Run refuses until the command is built.
func (c *AuditSignCmd) Run() error { return errors.New("not built yet") }
