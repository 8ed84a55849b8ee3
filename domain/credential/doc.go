// Package credential holds the rules for the secrets that members and staff type: the password policy and the
// policy of the one-time codes sent by email (activation, password reset, email change).
//
// Both are data with a version, plus pure functions over them. The version of the password policy is recorded in
// every PasswordSet event, the expiry of a code in the event that issues it, so that an auditor can check which
// rule applied to each fact and a later, stricter policy can tell which passwords predate it. Hashing, random
// tokens and TOTP live in adapters/credentials; this package imports only the standard library and
// domain/failure, and takes time and randomness as arguments.
//
// # Password policy and its sources
//
// The policy meets two references at once:
//
//   - CNIL, délibération n° 2022-100 du 21 juillet 2022 (recommandation relative aux mots de passe), case 2: a
//     password combined with an access restriction (temporary lock, exponential back-off; those are enforced on
//     login by the member aggregate) must carry at least 50 bits of entropy, estimated the CNIL's way: length ×
//     log2(size of the alphabet used). No forced periodic change.
//   - OWASP ASVS 4.0.3 level 2, §2.1: at least 12 characters (2.1.1); at least 64 allowed, more than 128 refused
//     (2.1.2); no truncation (2.1.3: the whole string is hashed); every printable Unicode character allowed,
//     spaces and emoji included (2.1.4); no composition rules (2.1.9); refused if it is a common or breached
//     password (2.1.7); no rotation (2.1.10).
//
// With 12 characters, any password that uses a letter or a sign reaches 50 bits by that estimate (12 × log2 26 ≈
// 56); a password made only of digits does not (12 × log2 10 ≈ 40), so digits alone need 16. That is a length rule,
// not a composition rule: nobody is required to use a given kind of character.
//
// Lengths are counted in Unicode code points (runes). ASVS asks for the count after NFC normalisation; the standard
// library has no NFC, so a letter typed in decomposed form ("e" + U+0301) counts as two. The difference only
// matters at the boundary of 12 and is in the member's favour by at most a few characters; the hasher in
// adapters/credentials normalises to NFC before hashing, so the same password typed on two devices verifies.
// Control characters (Unicode category Cc: tabulation, line feeds, NUL, ...) and invalid UTF-8 are refused: they
// are never typed on purpose and do not survive every client.
//
// # Common passwords
//
// The refusal list is the 47,023 most frequent passwords of the "10 million passwords" corpus as counted by zxcvbn
// (commonpasswords.txt; provenance, checksum and the MIT licence in commonpasswords.LICENSE), plus a short
// project-curated list of French counterparts and of words of the service itself (commonpasswords-fr.txt: not
// counted from any breach; "motdepasse", "azerty...", "doudou", "msa", ...). Comparison ignores case and accents.
// Because 12 characters is longer than most of the list, a password is also refused when it is a listed word padded
// with digits, signs or spaces ("Marseille2024!", "p@ssw0rd 1234"), a repetition of a short pattern
// ("azertyazerty"), or a plain sequence ("abcdefghijkl").
package credential
