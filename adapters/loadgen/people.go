package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The synthetic insured people share an identity (the reference only has to match what they type) and differ by
// NIR and email address.
const (
	lastName, firstName, birthDate = "Martin", "Camille", "1985-03-12"
	memberPassword                 = "un chemin de halage le long de la Vilaine"
	staffPassword                  = "un mot de passe de guichet tres long pour le banc"
)

// person is a synthetic insured person: the NIR's 13 characters, its key and an email address.
type person struct {
	nir, key, email string
}

// nirKey is the NIR's key: 97 − (the 13-digit body mod 97) (bodies here are digits only).
func nirKey(body string) string {
	n, _ := strconv.ParseUint(body, 10, 64)
	return fmt.Sprintf("%02d", 97-n%97)
}

// people returns n synthetic insured people: men born in March 1985 in Paris (department 75), commune from run
// (so two runs against one server do not collide), order 001 to 999 then the next commune.
func people(n, run int) []person {
	out := make([]person, n)
	for i := range out {
		commune := 101 + (run+i/999)%899
		body := fmt.Sprintf("1850375%03d%03d", commune, i%999+1)
		out[i] = person{nir: body, key: nirKey(body), email: fmt.Sprintf("charge%d.%d@loadgen.test", run, i)}
	}
	return out
}

// insuredCSV is the import file of people, in the format `dossier admin import-insured` reads.
func insuredCSV(ps []person) []byte {
	var b bytes.Buffer
	b.WriteString("nir;nom;prénom;date_naissance\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "%s%s;%s;%s;%s\n", p.nir, p.key, lastName, firstName, birthDate)
	}
	return b.Bytes()
}

var codeLine = regexp.MustCompile(`(?m)^\s+(\d{8})\s*$`)

// OutboxCodes returns the activation-code finder of a server that writes its mails as .eml files in dir (the
// embedded default's outbox): it waits for the mail to an address that carries a code and returns the code.
func OutboxCodes(dir string) func(ctx context.Context, email string) (string, error) {
	return func(ctx context.Context, email string) (string, error) {
		for {
			code, err := scanOutbox(dir, email)
			if err != nil || code != "" {
				return code, err
			}
			if err := sleep(ctx, 100*time.Millisecond); err != nil {
				return "", fmt.Errorf("loadgen: no activation mail to %s in %s: %w", email, dir, err)
			}
		}
	}
}

// scanOutbox looks through the outbox for a mail to email that carries a code ("" when none yet).
func scanOutbox(dir, email string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !bytes.Contains(raw, []byte(email)) {
			continue
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			continue
		}
		to, err := msg.Header.AddressList("To")
		if err != nil || len(to) != 1 || !strings.EqualFold(to[0].Address, email) {
			continue
		}
		text := plainText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		if m := codeLine.FindStringSubmatch(text); m != nil {
			return m[1], nil
		}
	}
	return "", nil
}

// plainText returns the text/plain part of a mail body, transfer-decoded.
func plainText(contentType, encoding string, body io.Reader) string {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return ""
			}
			if t := plainText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); t != "" {
				return t
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: body})
	}
	b, _ := io.ReadAll(body)
	return string(b)
}

// newlineSkipper drops line breaks from base64 text.
type newlineSkipper struct{ r io.Reader }

func (n *newlineSkipper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}
