package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// AdminCmd groups the operator commands; each lives in its own admin_*.go file.
type AdminCmd struct {
	ImportInsured AdminImportInsuredCmd `cmd:"import-insured" help:"Load the fund's file of insured people (CSV) into the reference that registration checks."`
	CreateStaff   AdminCreateStaffCmd   `cmd:"create-staff" help:"Open a staff account (password + TOTP); prints the TOTP enrolment once."`
	ResetTOTP     AdminResetTOTPCmd     `cmd:"reset-totp" help:"Reset a staff member's second factor (lost phone): ends their sessions, prints the new TOTP enrolment once."`
	TOTPCode      AdminTOTPCodeCmd      `cmd:"totp-code" help:"Local use only (embedded default): print a staff member's current TOTP code, to log in without a phone."`
	ImportFinance AdminImportFinanceCmd `cmd:"import-finance" help:"Record the statements, payments and invoices of the fund's other systems (CSV) in the members' histories."`
	RotateKEK     AdminRotateKEKCmd     `cmd:"rotate-kek" help:"Re-wrap every personal-data key under the current data KEK (--data-kek), the old one given in --data-kek-previous; prints how many."`
	EraseMember   AdminEraseMemberCmd   `cmd:"erase-member" help:"Erase a member's personal data (GDPR): records MemberDataErased; the server destroys their data keys."`
	LegalHold     AdminLegalHoldCmd     `cmd:"legal-hold" help:"Place or lift a legal hold on a member's data (no erasure while one is in force)."`

	// The member's inbox (admin_inbox.go).
	PublishDocument AdminPublishDocumentCmd `cmd:"publish-document" help:"Publish a document of the fund's other systems into a member's inbox (embedded default): checked, sealed, recorded; the member is mailed."`
}

// openCSV opens the file an import reads. A file that is not there, or cannot be read, is one line naming it (the
// command's whole usage would hide the mistake); the arguments are not checked by the parser for that reason.
func openCSV(path string) (*os.File, error) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file", path)
	case err != nil:
		return nil, fmt.Errorf("%s: cannot be read: %w", path, errors.Unwrap(err))
	}
	if info, err := f.Stat(); err == nil && info.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a directory, not a CSV file", path)
	}
	return f, nil
}
