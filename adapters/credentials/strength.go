package credentials

import (
	"github.com/trustelem/zxcvbn/match"
	"github.com/trustelem/zxcvbn/matching"
	"github.com/trustelem/zxcvbn/scoring"

	"github.com/msa-dossier/dossier/domain/credential"
)

var _ credential.GuessEstimator = Strength{}

// The guess estimate of the password policy (credential.GuessEstimator), in addition to its lists and the CNIL rule:
// github.com/trustelem/zxcvbn v1.0.1 (a Go port of Dropbox's zxcvbn) finds dictionary words (English lists, first
// names, surnames, the common passwords), l33t, repeats, sequences, dates and keyboard walks, and estimates how many
// guesses an attacker trying the likeliest patterns first needs. *Hasher implements the port (Guesses), so every
// command that checks a password and then hashes it has the estimate with the same port.
//
// Its keyboards are QWERTY, Dvorak and the keypads; it has no AZERTY graph, and its list of graphs is fixed when the
// package starts (matching's unexported defaultGraphs). So the French layout is supplied as data: azertyToQwerty maps
// each key of an AZERTY keyboard to the key at the same place on QWERTY. A walk on AZERTY ("azertyuiop",
// "qsdfghjklm", "wxcvbn") is a walk on QWERTY once mapped ("qwertyuiop", "asdfghjkl;", "zxcvbn"); the estimator's
// spatial matches found in the mapped password are added, at the same byte offsets, to those found in the password
// itself, and the cheapest way to guess the whole is kept. Keys whose character is not one byte (é, è, ç, à, ù) are
// left as they are: a walk through them is cut there.

// azertyToQwerty maps the ASCII characters of the French AZERTY layout (lower and upper case, and the signs of the
// unshifted digit row) to the character at the same place and shift state on US QWERTY. Characters not listed are
// kept.
var azertyToQwerty = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = byte(i)
	}
	pairs := []string{
		// Top letter row: a z e r t y u i o p ^ $ sit where QWERTY has q w e r t y u i o p [ ].
		"aq", "zw", "^[", "$]",
		// Home row: q s d f g h j k l m * where QWERTY has a s d f g h j k l ; \ (ù, on ', is not one byte).
		"qa", "m;", "*\\",
		// Bottom row: < w x c v b n , ; : ! where QWERTY has (102nd key) z x c v b n m , . /.
		"wz", ",m", ";,", ":.", "!/",
		// Upper case follows the letters.
		"AQ", "ZW", "QA", "WZ", "M:", "?M", ".<", "/>",
		// The digit row: unshifted on AZERTY are & " ' ( - _ ) (é è ç à are not one byte), shifted the digits.
		"&1", "\"3", "'4", "(5", "-6", "_8", ")-",
	}
	for _, p := range pairs {
		t[p[0]] = p[1]
	}
	return t
}()

// azertyAsQwerty returns pw typed with the same keys on QWERTY, and whether that differs from pw.
func azertyAsQwerty(pw string) (string, bool) {
	b := []byte(pw)
	changed := false
	for i, c := range b {
		if m := azertyToQwerty[c]; m != c {
			b[i], changed = m, true
		}
	}
	return string(b), changed
}

// Strength is the guess estimator (credential.GuessEstimator). The zero value is ready.
type Strength struct{}

// Guesses estimates how many guesses an attacker needs to find pw, trying the likeliest patterns first (dictionary
// words, the user's own data in userInputs, keyboard walks on QWERTY and AZERTY, sequences, repeats, dates).
func (Strength) Guesses(pw string, userInputs []string) float64 {
	matches := matching.Omnimatch(pw, userInputs)
	if mapped, ok := azertyAsQwerty(pw); ok {
		for _, m := range matching.Omnimatch(mapped, nil) {
			if m.Pattern != "spatial" {
				continue
			}
			// The same keys, read on the French layout: the token is the password's own text. The estimator prices
			// a walk by its graph's size and degree, which it knows as "qwerty": AZERTY has the same keys.
			matches = append(matches, &match.Match{Pattern: "spatial", I: m.I, J: m.J, Token: pw[m.I : m.J+1],
				Graph: "qwerty", Turns: m.Turns, ShiftedCount: m.ShiftedCount})
		}
	}
	return scoring.MostGuessableMatchSequence(pw, matches, false).Guesses
}

// Guesses is the estimate of Strength: the hasher carries the estimator, so that the commands' password port does
// both (see credential.GuessEstimator).
func (h *Hasher) Guesses(pw string, userInputs []string) float64 {
	return Strength{}.Guesses(pw, userInputs)
}
