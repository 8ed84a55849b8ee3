package credential

import (
	"bufio"
	_ "embed" // the common-password lists are compiled in
	"strings"
	"sync"
	"unicode"
)

// commonPasswords is the first column of data/passwords.txt of github.com/trustelem/zxcvbn v1.0.1 (MIT licence,
// Copyright (c) 2018 Vincent Vanackere and Trustelem): the 47,023 most frequent passwords of the "10 million
// passwords" corpus (Mark Burnett, xato.net, 2015) as counted by dropbox/zxcvbn, most frequent first, lower case.
// Provenance, checksums and the full licence text: commonpasswords.LICENSE.
//
//go:embed commonpasswords.txt
var commonPasswords string

// commonPasswordsFR is a short project-curated list (not counted from any corpus): French counterparts of the
// top entries above and words of the service itself, which a list counted on mostly English-speaking sites lacks.
//
//go:embed commonpasswords-fr.txt
var commonPasswordsFR string

// commonSet is the union of both lists, built once on first use. It is read-only after that.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 48000)
	for _, list := range []string{commonPasswords, commonPasswordsFR} {
		sc := bufio.NewScanner(strings.NewReader(list))
		for sc.Scan() {
			if w := strings.TrimSpace(sc.Text()); w != "" {
				set[foldAccents(strings.ToLower(w))] = struct{}{}
			}
		}
	}
	return set
})

// isCommon reports whether lower (a lower-cased password or part of one) is a listed password, possibly padded
// with digits, signs or spaces at either end, written with spaces inside ("mot de passe"), with accents
// ("liberté") or in common letter-for-digit substitutions ("p@ssw0rd").
func isCommon(lower string) bool {
	set := commonSet()
	core := strings.TrimFunc(lower, isPadding)
	bases := []string{lower, core, strings.Map(dropSeparators, core)}
	for _, b := range bases {
		if b == "" {
			continue
		}
		folded := foldAccents(b)
		for _, c := range []string{folded, unleet(folded, 'i'), unleet(folded, 'l')} {
			if _, ok := set[c]; ok {
				return true
			}
			// A substitution may turn padding digits into letters; strip again after it.
			if t := strings.TrimFunc(c, isPadding); t != c && t != "" {
				if _, ok := set[t]; ok {
					return true
				}
			}
		}
	}
	return false
}

// isPadding is what people add around a word to pass composition rules: ASCII digits, signs and spaces.
func isPadding(r rune) bool {
	return r < unicode.MaxASCII && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z')
}

// dropSeparators removes spaces and word separators inside a password ("mot de passe", "mot-de-passe").
func dropSeparators(r rune) rune {
	switch r {
	case ' ', '-', '_', '.', '\u00a0':
		return -1
	}
	return r
}

// unleet undoes the usual letter-for-digit substitutions; one is reads as i or l, hence the parameter.
func unleet(s string, one rune) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '@', '4':
			return 'a'
		case '3':
			return 'e'
		case '0':
			return 'o'
		case '$', '5':
			return 's'
		case '7':
			return 't'
		case '1':
			return one
		}
		return r
	}, s)
}

// foldAccents maps the accented Latin letters used in French and neighbouring languages to their base letters,
// so that "Hélène" and "helene" compare equal. It is not a Unicode decomposition (the standard library has none);
// letters it does not know are kept as they are. s must already be lower case.
func foldAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā':
			b.WriteByte('a')
		case 'ç', 'ć', 'č':
			b.WriteByte('c')
		case 'è', 'é', 'ê', 'ë', 'ē', 'ę', 'ě':
			b.WriteByte('e')
		case 'ì', 'í', 'î', 'ï', 'ī':
			b.WriteByte('i')
		case 'ñ', 'ń', 'ň':
			b.WriteByte('n')
		case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō':
			b.WriteByte('o')
		case 'ù', 'ú', 'û', 'ü', 'ū', 'ů':
			b.WriteByte('u')
		case 'ý', 'ÿ':
			b.WriteByte('y')
		case 'š', 'ś':
			b.WriteByte('s')
		case 'ž', 'ź', 'ż':
			b.WriteByte('z')
		case 'ł':
			b.WriteByte('l')
		case 'ř':
			b.WriteByte('r')
		case 'œ':
			b.WriteString("oe")
		case 'æ':
			b.WriteString("ae")
		case 'ß':
			b.WriteString("ss")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
