// Package messages holds the sentence a person reads for each stable error code.
//
// Errors carry a stable machine code (failure.CodeOf) and English text for logs; the French sentence shown to a
// member, a staff member or an operator is data, kept in one file, fr.tsv, embedded here. The HTTP layer answers
// {code, message} with FR(code); adding an error code means adding its line to fr.tsv, and a test of this package
// fails for any code declared with failure.New in the module that has no line (and for a line whose code is gone).
package messages

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed fr.tsv
var frTSV string

// fr is fr.tsv parsed; the file is part of the binary, so a malformed one is a bug this package's tests catch.
var fr = mustParse(frTSV)

// FR returns the French sentence for code, and whether there is one.
func FR(code string) (string, bool) {
	m, ok := fr[code]
	return m, ok
}

// Codes returns every code that has a French sentence, sorted.
func Codes() []string {
	out := make([]string, 0, len(fr))
	for c := range fr {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// parse reads lines "code<TAB>sentence"; blank lines and lines starting with # are skipped. A line without a tab,
// with an empty code or sentence, or naming a code a second time is an error.
func parse(data string) (map[string]string, error) {
	m := map[string]string{}
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code, sentence, ok := strings.Cut(line, "\t")
		code, sentence = strings.TrimSpace(code), strings.TrimSpace(sentence)
		switch {
		case !ok || code == "" || sentence == "":
			return nil, fmt.Errorf("line %d: want code, a tab, then the sentence", i+1)
		case strings.ContainsAny(code, " \t"):
			return nil, fmt.Errorf("line %d: code %q holds a space", i+1, code)
		case m[code] != "":
			return nil, fmt.Errorf("line %d: code %q already has a sentence", i+1, code)
		}
		m[code] = sentence
	}
	return m, nil
}

func mustParse(data string) map[string]string {
	m, err := parse(data)
	if err != nil {
		panic("messages: fr.tsv: " + err.Error())
	}
	return m
}
