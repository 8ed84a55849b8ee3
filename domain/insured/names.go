package insured

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldLetters maps the accented letters of French (and of the names the fund commonly meets: Spanish, Portuguese,
// German) to their base letters, upper case. The standard library has no Unicode decomposition (NFD), so the table
// is explicit; letters outside it are only upper-cased, and a combining mark (a name typed in decomposed form) is
// dropped, which gives the same result for "é" typed as one rune or as "e" + U+0301.
var foldLetters = map[rune]string{
	'à': "A", 'â': "A", 'ä': "A", 'á': "A", 'ã': "A", 'å': "A",
	'À': "A", 'Â': "A", 'Ä': "A", 'Á': "A", 'Ã': "A", 'Å': "A",
	'ç': "C", 'Ç': "C",
	'é': "E", 'è': "E", 'ê': "E", 'ë': "E", 'É': "E", 'È': "E", 'Ê': "E", 'Ë': "E",
	'î': "I", 'ï': "I", 'í': "I", 'ì': "I", 'Î': "I", 'Ï': "I", 'Í': "I", 'Ì': "I",
	'ô': "O", 'ö': "O", 'ó': "O", 'ò': "O", 'õ': "O", 'ø': "O", 'Ô': "O", 'Ö': "O", 'Ó': "O", 'Ò': "O", 'Õ': "O", 'Ø': "O",
	'ù': "U", 'û': "U", 'ü': "U", 'ú': "U", 'Ù': "U", 'Û': "U", 'Ü': "U", 'Ú': "U",
	'ÿ': "Y", 'ý': "Y", 'Ÿ': "Y", 'Ý': "Y",
	'ñ': "N", 'Ñ': "N",
	'æ': "AE", 'Æ': "AE", 'œ': "OE", 'Œ': "OE",
	'ß': "SS",
}

// isNameSeparator reports the characters FoldName drops: spaces, hyphens, apostrophes and dots, in their ASCII and
// typographic forms.
func isNameSeparator(r rune) bool {
	switch r {
	case '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', // hyphens and dashes
		'\'', '\u2019', '\u2018', '\u02bc', '`', '\u00b4', // apostrophes
		'.':
		return true
	}
	return unicode.IsSpace(r)
}

// FoldName returns the comparison key of a name: upper case, accents and ligatures of French (and common
// Spanish, Portuguese, German letters) replaced by their base letters from an explicit table, combining marks
// dropped, and spaces,
// hyphens, apostrophes and dots dropped, so that "Jean-Pierre", "JEAN PIERRE" and "jéan pierre" compare equal, as
// do "D'Artagnan" and "DARTAGNAN", and "Le Gall" and "LEGALL". Folding is only for comparing: names are stored as
// given.
func FoldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case isNameSeparator(r):
		case r >= 0x0300 && r <= 0x036f: // combining diacritical marks
		default:
			if f, ok := foldLetters[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
		}
	}
	return b.String()
}

// firstGivenName returns the first of several given names ("Jean Pierre Marie" → "Jean"; a compound "Jean-Pierre"
// stays whole), separated by spaces or commas.
func firstGivenName(s string) string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// maxNameRunes bounds a name: the civil registry allows long names, but not unbounded ones.
const maxNameRunes = 100

// nameProblem says what is wrong with a name.
type nameProblem int

const (
	nameOK nameProblem = iota
	nameMissing
	nameInvalid  // control characters, no letter at all, too long
	nameEncoding // not UTF-8
)

// cleanName trims a name and collapses its runs of white space into one space, and says whether the result is a
// usable name: valid UTF-8, non-empty, no control characters, at least one letter, at most maxNameRunes runes.
func cleanName(s string) (string, nameProblem) {
	if !utf8.ValidString(s) {
		return "", nameEncoding
	}
	clean := strings.Join(strings.Fields(s), " ")
	if clean == "" {
		return "", nameMissing
	}
	if utf8.RuneCountInString(clean) > maxNameRunes {
		return "", nameInvalid
	}
	letter := false
	for _, r := range clean {
		if unicode.IsControl(r) {
			return "", nameInvalid
		}
		letter = letter || unicode.IsLetter(r)
	}
	if !letter {
		return "", nameInvalid
	}
	return clean, nameOK
}
