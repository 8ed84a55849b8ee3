// Package mail sends Dossier's mails (activation codes, password resets, email confirmations) through one
// Sender interface with two implementations:
//
//   - SMTP delivers to a relay (STARTTLS, implicit TLS, or plain for tests) with go-mail;
//   - Outbox writes one RFC 5322 .eml file per message into a directory: the embedded default, where no
//     relay is configured.
//
// Both render a Message with the same code (go-mail's message writer), so an .eml in the outbox is byte for
// byte what would have gone over SMTP.
//
// # Exactly once, as far as the outside world allows
//
// Mails are sent by reactions (adapters/messaging), which deliver an event at least once. The caller gives
// every Message a Message-ID derived from messaging.EffectKey (NewMessageID), so a repeat after a crash
// carries the same Message-ID: the outbox replaces the file of that Message-ID instead of adding a second
// one, and a receiving system can drop the copy. Give the Message its Date too (the event's business time):
// the repeat is then identical to the first copy, byte for byte.
//
// # Failures
//
// Errors carry a failure kind that the reaction router acts on: a relay that cannot be reached, a timeout,
// a 4xx reply, an authentication or TLS problem, a full disk are failure.Unavailable (the event is delivered
// again until the dependency is back); a malformed Message and a 5xx refusal of the recipient or of the
// message are failure.Invalid (poison: retrying cannot help).
//
// # Personal data
//
// Addresses, subjects and bodies hold personal data and one-time codes: this package never logs them and
// never puts them in an error message (a relay's reply text often quotes the address, so only its codes are
// kept). The Message-ID, derived from an effect key, is the one identifier logs carry.
package mail
