package main

// AdminCmd groups the operator commands; each lives in its own admin_*.go file.
type AdminCmd struct {
	ImportInsured AdminImportInsuredCmd `cmd:"import-insured" help:"Load the fund's file of insured people (CSV) into the reference that registration checks."`
	CreateStaff   AdminCreateStaffCmd   `cmd:"create-staff" help:"Open a staff account (password + TOTP); prints the TOTP enrolment once."`
	ResetTOTP     AdminResetTOTPCmd     `cmd:"reset-totp" help:"Reset a staff member's second factor (lost phone): ends their sessions, prints the new TOTP enrolment once."`
	ImportFinance AdminImportFinanceCmd `cmd:"import-finance" help:"Record the statements, payments and invoices of the fund's other systems (CSV) in the members' histories."`
}
