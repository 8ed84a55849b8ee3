package membermail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
)

// Handler names of the security notices: permanent identities, like the code mails' (never rename one).
const (
	// LockNoticeHandler tells the account's owner that logins are suspended after repeated wrong passwords
	// (member.Locked): the login itself answers a locked account exactly like a wrong password, so that nobody
	// trying NIRs learns which have an account; the owner learns it here, with the end of the lock.
	LockNoticeHandler = "mail.account-locked-notice"
	// EmailChangedNoticeHandler tells the previous address that the account's email changed (member.EmailChanged).
	EmailChangedNoticeHandler = "mail.email-changed-notice"
	// PasswordChangedNoticeHandler tells the account's address that its password was changed or reset
	// (member.PasswordSet with reason "change" or "reset"; not the one chosen at activation).
	PasswordChangedNoticeHandler = "mail.password-changed-notice"
)

// NoticeHandlers returns the names of the handlers RegisterNotices adds.
func NoticeHandlers() []string {
	return []string{LockNoticeHandler, EmailChangedNoticeHandler, PasswordChangedNoticeHandler}
}

// RegisterNotices adds the security notices (ASVS V2.2.3, NIST SP 800-63B §6.1.2): a lock, an email change (to
// the old address), a password change or reset. Each is sent once per event like the code mails (at least once across a crash between
// sending and recording, with the same Message-ID)
// (messaging.OnceExternal through messaging.MailOnce, Message-ID from the effect key) and starts at the head of the
// log on its first start (messaging.SkipHistory): deploying them never notifies members of old events. They carry
// no code, password, NIR nor the new address: only what happened, when, and what to do if it was not the member.
// deps.Code is not needed. Call it before router.Run.
func RegisterNotices(router *messaging.Router, deps Deps) error {
	if err := depcheck.New("membermail notices:").Require("DB", deps.DB).Require("Store", deps.Store).
		Require("Sender", deps.Sender).Err(); err != nil {
		return err
	}
	r, err := newReactionsUnchecked(deps)
	if err != nil {
		return err
	}
	for _, h := range []struct {
		name string
		fn   message.NoPublishHandlerFunc
		typ  string // the one event type it acts on
	}{
		{LockNoticeHandler, r.lockNotice, member.TypeLocked},
		{EmailChangedNoticeHandler, r.emailChangedNotice, member.TypeEmailChanged},
		{PasswordChangedNoticeHandler, r.passwordNotice, member.TypePasswordSet},
	} {
		if err := router.AddHandler(h.name, h.fn, messaging.SkipHistory(), messaging.Handles(h.typ)); err != nil {
			return fmt.Errorf("membermail: add %s: %w", h.name, err)
		}
	}
	return nil
}

func (r *reactions) lockNotice(msg *message.Message) error {
	env, ev, ok, err := decode[member.Locked](msg, member.TypeLocked)
	if err != nil || !ok {
		return err
	}
	return r.notify(msg.Context(), LockNoticeHandler, env, func(before member.State) (string, notice) {
		return before.Identity.Email, lockParagraphs(r.local(ev.Until))
	})
}

func (r *reactions) emailChangedNotice(msg *message.Message) error {
	env, _, ok, err := decode[member.EmailChanged](msg, member.TypeEmailChanged)
	if err != nil || !ok {
		return err
	}
	return r.notify(msg.Context(), EmailChangedNoticeHandler, env, func(before member.State) (string, notice) {
		return before.Identity.Email, emailChangedParagraphs(r.local(env.Metadata.OccurredAt))
	})
}

func (r *reactions) passwordNotice(msg *message.Message) error {
	env, ev, ok, err := decode[member.PasswordSet](msg, member.TypePasswordSet)
	if err != nil || !ok || (ev.Reason != member.ReasonChange && ev.Reason != member.ReasonReset) {
		return err
	}
	return r.notify(msg.Context(), PasswordChangedNoticeHandler, env, func(before member.State) (string, notice) {
		return before.Identity.Email, passwordParagraphs(r.local(env.Metadata.OccurredAt), ev.Reason == member.ReasonReset)
	})
}

// local writes t in the fund's time, as the mails give it.
func (r *reactions) local(t time.Time) string { return frenchDateTime(t.In(r.paris)) }

// notify mails a notice about env, an event of a member stream, once: compose gets the member's state just before
// the event (so the old address of an email change, and the same address for a repeat) and returns the recipient
// and the paragraphs. An account whose data was erased meanwhile (or without an address) gets nothing: there is
// nobody left to tell.
func (r *reactions) notify(ctx context.Context, handler string, env event.Envelope,
	compose func(before member.State) (to string, n notice)) error {
	log := r.Logger.With("handler", handler, "stream", env.Stream.String(), "event_id", env.EventID.String(),
		"position", env.Position)
	id, err := messaging.MailOnce(ctx, r.DB, handler, env, r.Sender, r.From, "membermail: send notice",
		func(ctx context.Context) (mail.Message, error) {
			history, err := r.Store.Load(ctx, env.Stream)
			if err != nil {
				return mail.Message{}, err
			}
			var state member.State
			for _, e := range history {
				if e.EventID == env.EventID {
					break
				}
				state, _ = state.Apply(e.Event, e.Metadata.OccurredAt)
			}
			if !state.Registered {
				return mail.Message{}, fmt.Errorf("membermail: %s has no %s before the event: %w", env.Stream,
					member.TypeRegistered, ErrNoRecipient)
			}
			to, n := compose(state)
			if state.Erased || to == "" || to == event.ErasedText {
				return mail.Message{}, errSkip
			}
			return r.noticeMessage(to, n), nil
		})
	if errors.Is(err, errSkip) {
		log.Info("membermail: the member's data was erased; no notice")
		return nil
	}
	if id != "" {
		log.Info("membermail: notice sent", "message_id", id)
	}
	return err
}

// errSkip stops MailOnce without a mail; notify turns it into a success.
var errSkip = errors.New("membermail: nothing to send")

// noticeMessage renders a notice to one address: its paragraphs between the greeting and the closing lines.
func (r *reactions) noticeMessage(to string, n notice) mail.Message {
	var b strings.Builder
	b.WriteString("Bonjour,\n\n")
	for _, p := range n.paragraphs {
		b.WriteString(p + "\n\n")
	}
	b.WriteString("Votre caisse ne vous demandera jamais votre mot de passe ni un code, ni par téléphone ni par " +
		"email.\n\n")
	b.WriteString("Ce message vous est envoyé automatiquement, merci de ne pas y répondre.\n")
	return mail.Message{
		From:    r.From,
		To:      to,
		Subject: n.subject,
		Text:    b.String(),
		Header:  map[string]string{"Content-Language": "fr"},
	}
}
