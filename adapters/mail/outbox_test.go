package mail_test

import (
	"errors"
	"mime"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/domain/failure"
)

func newOutbox(t *testing.T) (*mail.Outbox, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := mail.NewOutbox(mail.OutboxConfig{Dir: dir, From: testFrom})
	if err != nil {
		t.Fatalf("NewOutbox: %v", err)
	}
	return o, dir
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestOutboxWritesOneFilePerMessageID(t *testing.T) {
	o, dir := newOutbox(t)
	ctx := testContext(t)
	first := activationMessage(t)

	if err := o.Send(ctx, first); err != nil {
		t.Fatalf("Send: %v", err)
	}
	names := listDir(t, dir)
	want := first.MessageID + ".eml"
	if len(names) != 1 || names[0] != want {
		t.Fatalf("outbox holds %v, want [%s]", names, want)
	}
	info, err := os.Stat(filepath.Join(dir, want))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v, want 0600 (personal data)", perm)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v (%v), want 0700", info.Mode().Perm(), err)
	}

	// A retry after a crash: same Message-ID, written again (here at a later Date, as when the reaction has
	// no business time to give). One file, holding the last copy.
	again := first
	again.Date = first.Date.Add(time.Minute)
	if err := o.Send(ctx, again); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	if names := listDir(t, dir); len(names) != 1 || names[0] != want {
		t.Fatalf("after a second send of the same Message-ID the outbox holds %v, want [%s]", names, want)
	}
	raw, err := os.ReadFile(filepath.Join(dir, want))
	if err != nil {
		t.Fatal(err)
	}
	if got := smtptest.Parse(raw); !got.Date.Equal(again.Date) {
		t.Errorf("file holds the copy dated %v, want the last one, %v", got.Date, again.Date)
	}

	// Another effect, another Message-ID: a second file.
	other := first
	other.MessageID = mail.NewMessageID(uuid.MustParse("0b4d3f0e-7c1a-4b61-8f5e-2a9d6c3e1f00"), testFrom)
	if err := o.Send(ctx, other); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, dir); len(names) != 2 {
		t.Errorf("outbox holds %v, want two files", names)
	}
}

func TestOutboxFileParsesBackWithTheSameHeaders(t *testing.T) {
	o, dir := newOutbox(t)
	msg := activationMessage(t)
	if err := o.Send(testContext(t), msg); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, mail.FileName(msg.MessageID)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parsed, err := netmail.ReadMessage(f)
	if err != nil {
		t.Fatalf("net/mail cannot read the .eml: %v", err)
	}
	h := parsed.Header
	if got := h.Get("Message-Id"); got != "<"+msg.MessageID+">" {
		t.Errorf("Message-ID %q, want <%s>", got, msg.MessageID)
	}
	if date, err := h.Date(); err != nil || !date.Equal(msg.Date) {
		t.Errorf("Date %v (%v), want %v", date, err, msg.Date)
	}
	var dec mime.WordDecoder
	if subject, err := dec.DecodeHeader(h.Get("Subject")); err != nil || subject != testSubject {
		t.Errorf("Subject %q (%v), want %q", subject, err, testSubject)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].String() != mustAddress(t, testFrom).String() {
		t.Errorf("From %v (%v), want %s", from, err, testFrom)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != testToAddr || to[0].Name != "Élodie Martin" {
		t.Errorf("To %v (%v), want %s", to, err, testTo)
	}
	for name, want := range map[string]string{"Mime-Version": "1.0", "Auto-Submitted": "auto-generated", "Content-Language": "fr"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" || params["boundary"] == "" {
		t.Errorf("Content-Type %q (%v), want multipart/alternative with a boundary", h.Get("Content-Type"), err)
	}

	raw, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	m := smtptest.Parse(raw)
	if m.ParseErr != nil {
		t.Fatal(m.ParseErr)
	}
	if strings.ReplaceAll(m.Text, "\r\n", "\n") != testText || m.HTML != testHTML {
		t.Errorf("bodies read back as %q and %q", m.Text, m.HTML)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line longer than RFC 5322 allows (%d)", len(line))
		}
	}
	if strings.Contains(strings.ReplaceAll(string(raw), "\r\n", ""), "\n") {
		t.Error("the .eml has bare LF line ends; RFC 5322 wants CRLF")
	}
}

func mustAddress(t *testing.T, s string) *netmail.Address {
	t.Helper()
	a, err := netmail.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestOutboxRemovesTemporaryFilesLeftByACrash(t *testing.T) {
	dir := t.TempDir()
	leftover := filepath.Join(dir, ".writing-123456")
	if err := os.WriteFile(leftover, []byte("From: half a message"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.NewOutbox(mail.OutboxConfig{Dir: dir, From: testFrom}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file still there (%v)", err)
	}
}

func TestOutboxInvalidMessageWritesNothing(t *testing.T) {
	o, dir := newOutbox(t)
	msg := activationMessage(t)
	msg.MessageID = ""
	msg.Subject = "Votre code\r\nBcc: everyone@example.org"
	err := o.Send(testContext(t), msg)
	if k := failure.KindOf(err); k != failure.Invalid {
		t.Fatalf("kind %v, want invalid (%v)", k, err)
	}
	if !strings.Contains(err.Error(), "Message-ID is empty") || !strings.Contains(err.Error(), "subject is not one line") {
		t.Errorf("error does not report both problems: %v", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("outbox holds %v, want nothing", names)
	}
}

func TestOutboxUnwritableDirectoryIsUnavailable(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes through permission bits; make the "directory" a file instead.
		t.Log("running as root: the outbox directory is replaced by a file")
	}
	o, dir := newOutbox(t)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil { // a file where the directory was
		t.Fatal(err)
	}
	err := o.Send(testContext(t), activationMessage(t))
	if k := failure.KindOf(err); k != failure.Unavailable {
		t.Fatalf("kind %v, want unavailable (%v)", k, err)
	}
	if !errors.Is(err, mail.ErrOutbox) {
		t.Errorf("error %v is not ErrOutbox", err)
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11@msa.invalid", "5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11@msa.invalid.eml"},
		{"<5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11@msa.invalid>", "5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11@msa.invalid.eml"},
	} {
		if got := mail.FileName(tc.id); got != tc.want {
			t.Errorf("FileName(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
	// Characters that are valid in a Message-ID but not safe in a file name give a hashed name.
	for _, id := range []string{"a/../../etc@x", "a|b@x", "a{b}@x"} {
		got := mail.FileName(id)
		if strings.ContainsAny(got, "/|{}") || len(got) != 64+len(".eml") || !strings.HasSuffix(got, ".eml") {
			t.Errorf("FileName(%q) = %q, want a hexadecimal hash", id, got)
		}
		if got == mail.FileName("a@x") {
			t.Errorf("FileName(%q) collides with FileName(a@x)", id)
		}
	}
}
