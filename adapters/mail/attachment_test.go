package mail_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/mail"
)

// TestAttachments: a file rides along (multipart/mixed, its name and type, the same bytes at every rendering), and an
// attachment without a plain name, a type or data is refused.
func TestAttachments(t *testing.T) {
	msg := activationMessage(t)
	msg.Attachments = []mail.Attachment{{Name: "rendez-vous.ics", ContentType: "text/calendar; charset=utf-8; method=REQUEST",
		Data: []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")}}
	a, err := mail.Render(msg, testFrom, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := mail.Render(msg, testFrom, time.Time{})
	if string(a) != string(b) {
		t.Error("two renderings with an attachment differ")
	}
	for _, want := range []string{"multipart/mixed", "text/calendar", `filename="rendez-vous.ics"`} {
		if !strings.Contains(string(a), want) {
			t.Errorf("no %q in:\n%s", want, a)
		}
	}
	for name, bad := range map[string]mail.Attachment{
		"no name":      {ContentType: "text/plain", Data: []byte("x")},
		"path in name": {Name: "../x.ics", ContentType: "text/plain", Data: []byte("x")},
		"no type":      {Name: "x.ics", Data: []byte("x")},
		"no data":      {Name: "x.ics", ContentType: "text/plain"},
	} {
		m := activationMessage(t)
		m.Attachments = []mail.Attachment{bad}
		if _, err := mail.Render(m, testFrom, time.Time{}); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
