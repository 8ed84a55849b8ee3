package auditlog

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/secretfile"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// KeyName is the name of the audit signing key in its public key and in the signature lines of every head
// ("dossier-audit+<8 hex digits>+<base64>", the sumdb/note verifier key format).
const KeyName = "dossier-audit"

// SeedSize is the size of a signing key: an Ed25519 seed, written as 64 hexadecimal characters.
const SeedSize = ed25519.SeedSize

// Errors an auditor may meet, with their stable codes (French in domain/messages/fr.tsv).
var (
	ErrInvalidSigningKey = failure.New(failure.Invalid, "audit.invalid_signing_key", "auditlog: the audit signing key is not 64 hexadecimal characters")
	ErrInvalidPublicKey  = failure.New(failure.Invalid, "audit.invalid_public_key", "auditlog: the public key is not an audit public key (dossier-audit+<hash>+<base64>)")
	ErrWrongKey          = failure.New(failure.Invalid, "audit.wrong_public_key", "auditlog: the tree head is not signed by this public key")
	ErrBadSignature      = failure.New(failure.Invalid, "audit.bad_signature", "auditlog: the signature of the tree head does not verify")
	ErrMalformedHead     = failure.New(failure.Invalid, "audit.malformed_head", "auditlog: the tree head is malformed")
)

// Key is the audit signing key: an Ed25519 key of its own (not the server key), whose public half auditors hold.
type Key struct {
	signer note.Signer
	public string
}

// ParseKey reads a signing key: an Ed25519 seed as 64 hexadecimal characters (surrounding space ignored).
func ParseKey(s string) (*Key, error) {
	seed, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(seed) != SeedSize {
		return nil, ErrInvalidSigningKey
	}
	priv := ed25519.NewKeyFromSeed(seed)
	vkey, err := note.NewEd25519VerifierKey(KeyName, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	hash := strings.Split(vkey, "+")[1]
	skey := "PRIVATE+KEY+" + KeyName + "+" + hash + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, seed...))
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	return &Key{signer: signer, public: vkey}, nil
}

// LoadOrCreateKeyFile returns the signing key in the file at path, creating it (mode 0600, a new random seed) on
// first use: the embedded default, like the data KEK.
func LoadOrCreateKeyFile(path string) (*Key, error) {
	return secretfile.LoadOrCreate(path, "audit signing key", SeedSize, func(b []byte) (*Key, error) { return ParseKey(string(b)) })
}

// PublicKey returns the public key auditors verify heads with: "dossier-audit+<hash>+<base64 of 0x01 and the key>".
func (k *Key) PublicKey() string { return k.public }

// KeyID is the public key's id: its name and hash ("dossier-audit+1a2b3c4d").
func (k *Key) KeyID() string { return keyID(k.public) }

func keyID(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "+" + parts[1]
}

// Verifier checks heads against one public key.
type Verifier struct {
	v      note.Verifier
	public string
}

// ParseVerifier reads a public key as PublicKey prints it.
func ParseVerifier(vkey string) (*Verifier, error) {
	vkey = strings.TrimSpace(vkey)
	v, err := note.NewVerifier(vkey)
	if err != nil || v.Name() != KeyName {
		return nil, ErrInvalidPublicKey
	}
	return &Verifier{v: v, public: vkey}, nil
}

// Verifier returns the verifier of the key's public half.
func (k *Key) Verifier() *Verifier {
	v, err := ParseVerifier(k.public)
	if err != nil {
		panic(err) // built from our own key
	}
	return v
}

// KeyID is the id of the public key ("dossier-audit+1a2b3c4d").
func (v *Verifier) KeyID() string { return keyID(v.public) }

// Head is a tree head: the tree over the first Size leaves, its root hash, the positions in $all of its last
// leaf, and when it was signed.
type Head struct {
	Size        int64     `json:"size"`
	Root        tlog.Hash `json:"root"`
	LastCommit  uint64    `json:"last_commit"`
	LastPrepare uint64    `json:"last_prepare"`
	At          time.Time `json:"at"`
}

// headTitle is the first line of a head's signed text.
const headTitle = "dossier audit tree head v1"

// Text is the signed text of a head:
//
//	dossier audit tree head v1
//	<size>
//	<root hash, base64>
//	<commit position of the last leaf> <its prepare position>
//	<time, RFC 3339 UTC with nanoseconds>
func (h Head) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\n%d %d\n%s\n", headTitle, h.Size, h.Root, h.LastCommit, h.LastPrepare,
		h.At.UTC().Format(time.RFC3339Nano))
}

// parseHeadText reads Text; anything but the exact form is ErrMalformedHead.
func parseHeadText(text string) (Head, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 6 || lines[0] != headTitle || lines[5] != "" {
		return Head{}, ErrMalformedHead
	}
	commit, prepare, ok := strings.Cut(lines[3], " ")
	if !ok {
		return Head{}, ErrMalformedHead
	}
	var (
		h    Head
		errs []error
	)
	var err error
	h.Size, err = strconv.ParseInt(lines[1], 10, 64)
	errs = append(errs, err)
	h.Root, err = tlog.ParseHash(lines[2])
	errs = append(errs, err)
	h.LastCommit, err = strconv.ParseUint(commit, 10, 64)
	errs = append(errs, err)
	h.LastPrepare, err = strconv.ParseUint(prepare, 10, 64)
	errs = append(errs, err)
	h.At, err = time.Parse(time.RFC3339Nano, lines[4])
	errs = append(errs, err)
	if errors.Join(errs...) != nil || h.Size < 0 || h.Text() != text {
		return Head{}, ErrMalformedHead // h.Text() != text: one spelling only ("+7", "07" are not 7)
	}
	return h, nil
}

// Sign returns the signed note of h: its Text, a blank line and the signature line "— dossier-audit+<hash>+…".
func (k *Key) Sign(h Head) (string, error) {
	msg, err := note.Sign(&note.Note{Text: h.Text()}, k.signer)
	if err != nil {
		return "", fmt.Errorf("auditlog: sign the tree head: %w", err)
	}
	return string(msg), nil
}

// Open checks a signed head with the verifier and returns the head: ErrWrongKey when it bears no signature of this
// key, ErrBadSignature when the signature does not verify, ErrMalformedHead when the text is not a head.
func (v *Verifier) Open(signed string) (Head, error) {
	n, err := note.Open([]byte(signed), note.VerifierList(v.v))
	if err != nil {
		var unknown *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unknown):
			return Head{}, ErrWrongKey
		case errors.As(err, &invalid):
			return Head{}, ErrBadSignature
		}
		return Head{}, fmt.Errorf("%w: %v", ErrMalformedHead, err)
	}
	for _, sig := range append(n.Sigs, n.UnverifiedSigs...) {
		// note decodes base64 leniently (unused low bits of the last character ignored): a canonical encoding is
		// required, so that no byte of a signed head can change unseen.
		if _, err := base64.StdEncoding.Strict().DecodeString(sig.Base64); err != nil {
			return Head{}, ErrBadSignature
		}
	}
	return parseHeadText(n.Text)
}

// HeadStream is the stream of the signed tree heads: one stream for the whole log.
var HeadStream = event.NewStreamID("audithead", uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:dossier:audit:tree-heads")))

// HeadSignedType is the type name of the head event.
const HeadSignedType = "AuditTreeHeadSigned"

// HeadSigned records a signed tree head in the event store. Note is the authority (the signed text and its
// signature); the other fields repeat it for readers. The event is itself a later leaf of the tree.
type HeadSigned struct {
	Size       int64     `json:"size" personal:"no"`
	Root       string    `json:"root" personal:"no"`
	LastCommit uint64    `json:"last_commit" personal:"no"`
	KeyID      string    `json:"key_id" personal:"no"`
	SignedAt   time.Time `json:"signed_at" personal:"no"`
	Note       string    `json:"note" personal:"no"`
}

// Definitions lists the events of this package, for the binary's registry.
func Definitions() []event.Definition {
	return []event.Definition{event.Define[HeadSigned](HeadSignedType)}
}
