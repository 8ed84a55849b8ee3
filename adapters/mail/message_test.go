package mail_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/domain/failure"
)

func TestNewMessageID(t *testing.T) {
	key := uuid.MustParse("5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11")
	for _, tc := range []struct{ from, want string }{
		{testFrom, "5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11@msa.invalid"},
		{"noreply@Mail.MSA.invalid", "5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11@mail.msa.invalid"},
		{"not an address", "5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11@" + mail.DefaultMessageIDDomain},
	} {
		if got := mail.NewMessageID(key, tc.from); got != tc.want {
			t.Errorf("NewMessageID(%q) = %q, want %q", tc.from, got, tc.want)
		}
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	msg := activationMessage(t)
	a, err := mail.Render(msg, testFrom, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := mail.Render(msg, testFrom, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("two renderings of one message differ:\n%s\n---\n%s", a, b)
	}
	// Without a Date, the sender's clock gives it.
	msg.Date = time.Time{}
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	c, err := mail.Render(msg, testFrom, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(c), "Date: Fri, 01 May 2026 08:00:00 +0000\r\n") {
		t.Errorf("Date not taken from the clock:\n%s", c)
	}
}

func TestMessageValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*mail.Message)
		want   string // part of the error; "" when valid
	}{
		{"valid", func(*mail.Message) {}, ""},
		{"brackets around the Message-ID", func(m *mail.Message) { m.MessageID = "<" + m.MessageID + ">" }, ""},
		{"text only", func(m *mail.Message) { m.HTML = "" }, ""},
		{"explicit author", func(m *mail.Message) { m.From = "conseiller@msa.invalid" }, ""},
		{"own Auto-Submitted", func(m *mail.Message) { m.Header["auto-submitted"] = "auto-replied" }, ""},
		{"no Message-ID", func(m *mail.Message) { m.MessageID = "" }, "Message-ID is empty"},
		{"Message-ID without @", func(m *mail.Message) { m.MessageID = "abc" }, "Message-ID is not"},
		{"Message-ID with a space", func(m *mail.Message) { m.MessageID = "a b@c" }, "Message-ID is not"},
		{"no recipient", func(m *mail.Message) { m.To = "" }, "recipient address: empty"},
		{"two recipients", func(m *mail.Message) { m.To = "a@example.org, b@example.org" }, "recipient address: does not parse"},
		{"recipient without domain", func(m *mail.Message) { m.To = "Élodie <elodie>" }, "recipient address"},
		{"bad author", func(m *mail.Message) { m.From = "@@" }, "sender address"},
		{"no subject", func(m *mail.Message) { m.Subject = " " }, "subject is empty"},
		{"header injection in the subject", func(m *mail.Message) { m.Subject += "\nBcc: x@example.org" }, "subject is not one line"},
		{"no text", func(m *mail.Message) { m.Text = "" }, "text body is empty"},
		{"text not UTF-8", func(m *mail.Message) { m.Text = "caf\xe9" }, "text body is not UTF-8"},
		{"reserved header", func(m *mail.Message) { m.Header["bcc"] = "x@example.org" }, "header field Bcc is written by the mail package"},
		{"header name with a colon", func(m *mail.Message) { m.Header["X-A:B"] = "1" }, "header field name"},
		{"header value with a line break", func(m *mail.Message) { m.Header["X-Case"] = "1\r\nBcc: x@example.org" }, "header field X-Case is not one line"},
		{"header set twice", func(m *mail.Message) { m.Header["content-language"] = "en" }, "set twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := activationMessage(t)
			msg.Header = map[string]string{"Content-Language": "fr"}
			tc.change(&msg)
			_, err := mail.Render(msg, testFrom, time.Now())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Render accepted the message, want an error with %q", tc.want)
			}
			if failure.KindOf(err) != failure.Invalid || !errors.Is(err, mail.ErrInvalidMessage) {
				t.Errorf("error %v is not an invalid message", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			assertNoPersonalData(t, "error", err.Error())
		})
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want mail.SMTPConfig
		err  string
	}{
		{url: "smtp://relay.msa.invalid", want: mail.SMTPConfig{Host: "relay.msa.invalid", TLS: mail.TLSStartTLS}},
		{url: "smtps://user%40msa:p%3Ass@relay.msa.invalid:2465?auth=login&timeout=10s&helo=dossier.msa.invalid",
			want: mail.SMTPConfig{Host: "relay.msa.invalid", Port: 2465, Username: "user@msa", Password: "p:ss", TLS: mail.TLSImplicit,
				Auth: mail.AuthLogin, Timeout: 10 * time.Second, HELO: "dossier.msa.invalid"}},
		{url: "smtp://127.0.0.1:2525?tls=none", want: mail.SMTPConfig{Host: "127.0.0.1", Port: 2525, TLS: mail.TLSNone}},
		{url: "http://relay", err: "scheme must be smtp or smtps"},
		{url: "smtp://relay?tls=starttls&ssl=1", err: `unknown parameter "ssl"`},
		{url: "smtp://u:topsecret@relay:x", err: "does not parse"},
		{url: "smtp://relay?timeout=soon", err: "timeout is not a duration"},
	} {
		got, err := mail.ParseSMTPURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || failure.KindOf(err) != failure.Invalid {
				t.Errorf("ParseSMTPURL(%q) = %v, want an invalid error with %q", tc.url, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error quotes the password: %v", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSMTPURL(%q): %v", tc.url, err)
			continue
		}
		if got.String() != tc.want.String() || got.Username != tc.want.Username || got.Password != tc.want.Password ||
			got.Auth != tc.want.Auth || got.HELO != tc.want.HELO || got.Host != tc.want.Host || got.Port != tc.want.Port ||
			got.TLS != tc.want.TLS || got.Timeout != tc.want.Timeout {
			t.Errorf("ParseSMTPURL(%q) = %+v, want %+v", tc.url, got, tc.want)
		}
	}
}

func TestSMTPConfigValidateReportsEveryProblem(t *testing.T) {
	err := mail.SMTPConfig{Host: "relay.msa.invalid", Port: 70000, TLS: "ssl", Username: "u", Password: "hunter2", From: "nobody"}.Validate()
	if failure.KindOf(err) != failure.Invalid {
		t.Fatalf("Validate: %v, want an invalid error", err)
	}
	for _, want := range []string{"port 70000", `tls mode "ssl"`, "mail from address"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not report %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Validate error quotes the password: %v", err)
	}

	clear := mail.SMTPConfig{Host: "relay.msa.invalid", TLS: mail.TLSNone, Username: "u", Password: "p", From: testFrom}
	if err := clear.Validate(); err == nil || !strings.Contains(err.Error(), "in clear") {
		t.Errorf("credentials without TLS to a remote host: %v, want refused", err)
	}
	clear.Host = "127.0.0.1"
	if err := clear.Validate(); err != nil {
		t.Errorf("credentials without TLS to loopback: %v, want accepted", err)
	}
}

func TestSMTPConfigPrintsNoPassword(t *testing.T) {
	c := mail.SMTPConfig{Host: "relay.msa.invalid", Username: "dossier", Password: "hunter2", From: testFrom}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "smtp", c)
	for what, s := range map[string]string{"String": c.String(), "log": b.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("%s shows the password: %s", what, s)
		}
		if !strings.Contains(s, "relay.msa.invalid") || !strings.Contains(s, "587") {
			t.Errorf("%s does not show host and default port: %s", what, s)
		}
	}
}
