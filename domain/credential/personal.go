package credential

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// containsPersonalData reports whether pw contains one of the context values, or a part of one of at least minLen
// characters. Both sides are compared lower-cased, without accents and without anything but letters and digits,
// so "Dupont-Hélène 1 55 08…" is caught in "helenedupont155082024". An email address counts by its local part only
// (the domain, "gmail", is nobody's personal data); a 15-digit NIR also by its 13-digit body.
func containsPersonalData(pw string, context []string, minLen int) bool {
	hay := alnumFold(pw)
	if hay == "" {
		return false
	}
	for _, c := range context {
		for _, tok := range contextTokens(c) {
			if utf8.RuneCountInString(tok) >= minLen && strings.Contains(hay, tok) {
				return true
			}
		}
	}
	return false
}

// contextTokens returns the whole value and each of its parts (split on anything that is not a letter or a
// digit), folded by alnumFold.
func contextTokens(c string) []string {
	if local, _, ok := strings.Cut(c, "@"); ok {
		c = local
	}
	var toks []string
	if whole := alnumFold(c); whole != "" {
		toks = append(toks, whole)
		if len(whole) == 15 && isDigits(whole[:5]) && isDigits(whole[13:]) { // NIR with its key (2A/2B inside)
			toks = append(toks, whole[:13])
		}
	}
	parts := strings.FieldsFunc(c, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(parts) > 1 {
		for _, p := range parts {
			toks = append(toks, alnumFold(p))
		}
	}
	return toks
}

// alnumFold lower-cases s, folds accents and keeps only letters and digits.
func alnumFold(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, foldAccents(strings.ToLower(s)))
}
