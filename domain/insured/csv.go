package insured

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/nir"
)

// Errors about an import file as a whole (nothing is imported) or one of its lines (reported, the rest goes on).
var (
	ErrEmptyFile     = failure.New(failure.Invalid, "insured.empty_file", "empty file")
	ErrSeparator     = failure.New(failure.Invalid, "insured.no_separator", "header has neither ';' nor ','")
	ErrNoHeader      = failure.New(failure.Invalid, "insured.no_header", "first line is not the header")
	ErrHeader        = failure.New(failure.Invalid, "insured.unknown_header", "header is not nir;nom;prenom;date_naissance")
	ErrColumns       = failure.New(failure.Invalid, "insured.column_count", "line has not 4 columns")
	ErrMalformedLine = failure.New(failure.Invalid, "insured.malformed_line", "line is not valid CSV")
	ErrDuplicate     = failure.New(failure.Invalid, "insured.duplicate_in_file", "NIR already on an earlier line")
)

// headerNames are the accepted names of the four columns, in order, compared after FoldName and without
// underscores. The check catches a file whose columns are in another order (first and last names swapped would
// otherwise be recorded silently).
var headerNames = [4][]string{
	{"NIR", "NIRCLE", "NIRAVECCLE", "NSS", "NUMEROSECURITESOCIALE", "NUMERODESECURITESOCIALE", "SSN"},
	{"NOM", "NOMDEFAMILLE", "NOMDENAISSANCE", "LASTNAME", "SURNAME", "FAMILYNAME"},
	{"PRENOM", "PRENOMS", "FIRSTNAME", "GIVENNAME", "GIVENNAMES"},
	{"DATENAISSANCE", "DATEDENAISSANCE", "NAISSANCE", "BIRTHDATE", "DATEOFBIRTH", "DOB"},
}

// rowReader reads the data lines of an import file: UTF-8 (a byte-order mark is skipped), a header line, then
// one person per line; the separator is ";" or ",", whichever the header line uses more. Fields may be quoted as
// in RFC 4180, but a record never spans lines: each line is parsed on its own, so a stray quote costs its own line
// (ErrMalformedLine) and never swallows the lines after it.
type rowReader struct {
	lines *bufio.Scanner
	sep   rune
	line  int
}

// maxLine bounds a line of the file.
const maxLine = 1 << 16

// newRowReader reads and checks the header line.
func newRowReader(r io.Reader) (*rowReader, error) {
	rr := &rowReader{lines: bufio.NewScanner(r)}
	rr.lines.Buffer(make([]byte, 0, 4096), maxLine)
	if !rr.lines.Scan() {
		if err := rr.lines.Err(); err != nil {
			return nil, fmt.Errorf("read the header line: %w", err)
		}
		return nil, ErrEmptyFile
	}
	rr.line = 1
	first := strings.TrimPrefix(rr.lines.Text(), "\ufeff")
	if strings.TrimSpace(first) == "" {
		return nil, ErrEmptyFile
	}
	rr.sep = ','
	switch semi, comma := strings.Count(first, ";"), strings.Count(first, ","); {
	case semi == 0 && comma == 0:
		return nil, ErrSeparator
	case semi >= comma:
		rr.sep = ';'
	}
	header, err := rr.split(first)
	if err != nil {
		return nil, ErrHeader
	}
	if _, err := nir.Parse(header[0]); err == nil {
		return nil, ErrNoHeader
	}
	if len(header) != 4 {
		return nil, ErrHeader
	}
	for i, name := range header {
		key := strings.ReplaceAll(FoldName(name), "_", "")
		found := false
		for _, alias := range headerNames[i] {
			found = found || key == alias
		}
		if !found {
			return nil, ErrHeader
		}
	}
	return rr, nil
}

// split parses one line into its fields.
func (rr *rowReader) split(line string) ([]string, error) {
	c := csv.NewReader(strings.NewReader(line))
	c.Comma = rr.sep
	c.FieldsPerRecord = -1
	c.TrimLeadingSpace = true
	return c.Read()
}

// next returns the next data line: its number in the file (from 1, the header being line 1), its fields, and a
// line error (ErrMalformedLine, ErrColumns, ErrEncoding) to report for that line. Blank lines are skipped. It
// returns io.EOF at the end and any other error when the file cannot be read (or has a line over 64 KiB).
func (rr *rowReader) next() (line int, fields []string, lineErr error, err error) {
	for rr.lines.Scan() {
		rr.line++
		text := rr.lines.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		if !utf8.ValidString(text) {
			return rr.line, nil, ErrEncoding, nil
		}
		fields, err := rr.split(text)
		if err != nil {
			return rr.line, nil, ErrMalformedLine, nil
		}
		if len(fields) != 4 {
			return rr.line, nil, ErrColumns, nil
		}
		return rr.line, fields, nil, nil
	}
	if err := rr.lines.Err(); err != nil {
		return 0, nil, nil, fmt.Errorf("read the file after line %d: %w", rr.line, err)
	}
	return 0, nil, nil, io.EOF
}

// parseRow validates the fields of a data line and reports the first problem in column order: NIR, last name,
// first name, birth date.
func parseRow(fields []string, today time.Time) (Identity, error) {
	n, err := nir.Parse(fields[0])
	if err != nil {
		return Identity{}, err
	}
	birth, dateErr := ParseDate(fields[3])
	id, err := NewIdentity(n, fields[1], fields[2], birth, today)
	if dateErr != nil && (err == nil || errors.Is(err, ErrBirthDateImplausible)) {
		return Identity{}, dateErr // the names are fine (a zero date is only "implausible"): the date is unreadable
	}
	return id, err
}
