package main

// AdminCmd groups the operator commands; each lives in its own admin_*.go file.
type AdminCmd struct {
	ImportInsured AdminImportInsuredCmd `cmd:"import-insured" help:"Load the fund's file of insured people (CSV) into the reference that registration checks."`
}
