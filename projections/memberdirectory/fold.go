package memberdirectory

import (
	"strings"
	"unicode"
)

// folds maps the lower-case letters with diacritics of French names (and of the Latin alphabets around) to their
// base letters. It is deliberately a small explicit table rather than a Unicode normalisation dependency: names
// come from the French civil registry. Letters missing from it are kept as they are (lower-cased), so a name in
// another script is still searchable by its own spelling.
var folds = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'æ': "ae",
	'ç': "c", 'ć': "c", 'ĉ': "c", 'ċ': "c", 'č': "c",
	'ď': "d", 'đ': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ĕ': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'ĝ': "g", 'ğ': "g", 'ġ': "g", 'ģ': "g",
	'ĥ': "h", 'ħ': "h",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ĩ': "i", 'ī': "i", 'ĭ': "i", 'į': "i", 'ı': "i",
	'ĵ': "j",
	'ķ': "k",
	'ĺ': "l", 'ļ': "l", 'ľ': "l", 'ŀ': "l", 'ł': "l",
	'ñ': "n", 'ń': "n", 'ņ': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'ŏ': "o", 'ő': "o",
	'œ': "oe",
	'ŕ': "r", 'ŗ': "r", 'ř': "r",
	'ś': "s", 'ŝ': "s", 'ş': "s", 'š': "s", 'ß': "ss",
	'ţ': "t", 'ť': "t", 'ŧ': "t",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ũ': "u", 'ū': "u", 'ŭ': "u", 'ů': "u", 'ű': "u", 'ų': "u",
	'ŵ': "w",
	'ý': "y", 'ÿ': "y", 'ŷ': "y",
	'ź': "z", 'ż': "z", 'ž': "z",
}

// Fold returns the search form of a name: lower case, accents removed, every run of characters that are neither
// letters nor digits (spaces, hyphens, apostrophes) made one space, trimmed. "Lefèvre-D'Aubigné" → "lefevre d
// aubigne". Combining accents (a name typed in decomposed form) are dropped too.
func Fold(s string) string {
	return strings.Join(parts(s), " ")
}

// parts returns the folded letter-and-digit runs of s, in order.
func parts(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.Is(unicode.Mn, r): // a combining accent: part of the letter before it
		case folds[r] != "":
			b.WriteString(folds[r])
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// words returns the distinct words a name is found by: its folded parts, plus each compound joined up ("jean-pierre"
// gives "jean", "pierre" and "jeanpierre"; "d'aubigné" gives "d", "aubigne" and "daubigne"), so that a search
// typed with or without the hyphen or apostrophe finds it.
func words(names ...string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(w string) {
		if w != "" && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	for _, name := range names {
		for _, token := range strings.Fields(name) {
			ps := parts(token)
			for _, p := range ps {
				add(p)
			}
			if len(ps) > 1 {
				add(strings.Join(ps, ""))
			}
		}
	}
	return out
}
