package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Parse reads a catalogue written in the canonical JSON form of the published versions ({version, groups, queues,
// services}: the golden files under testdata, GET /v1/catalog) and checks it as build does, reporting every problem
// instead of panicking: an unknown field, a duplicated or empty code, a service in an unknown group, a request
// service without a known queue, a handling time or a silence rule out of range, a pattern that does not compile.
// It serves the auditors' what-if replays (a catalogue version that was never published); members are only ever
// served the published versions (Load).
func Parse(data []byte) (*Catalog, error) {
	var doc catalogJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("catalogue file: %s", describeJSONError(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("catalogue file: data after the catalogue object")
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(doc.Version) == "" {
		add("version: empty")
	}
	groups := map[string]bool{}
	for i, g := range doc.Groups {
		switch {
		case g.Code == "" || groups[g.Code]:
			add("groups[%d]: code %q empty or duplicated", i, g.Code)
		case g.Space != SpacePro && g.Space != SpacePerso:
			add("groups[%d] %q: space %q (want pro or perso)", i, g.Code, g.Space)
		}
		groups[g.Code] = true
	}
	queues := map[string]bool{}
	for i, q := range doc.Queues {
		if q.Code == "" || queues[q.Code] {
			add("queues[%d]: code %q empty or duplicated", i, q.Code)
		}
		queues[q.Code] = true
	}
	if len(doc.Services) == 0 {
		add("services: none")
	}
	services := map[string]bool{}
	for i, s := range doc.Services {
		at := fmt.Sprintf("services[%d] %q", i, s.Code)
		if s.Code == "" || services[s.Code] {
			add("%s: code empty or duplicated", at)
		}
		services[s.Code] = true
		if !groups[s.Group] {
			add("%s: unknown group %q", at, s.Group)
		}
		switch s.Kind {
		case KindRequest:
			if !queues[s.Queue] {
				add("%s: unknown queue %q", at, s.Queue)
			}
			if s.TargetHandlingDays < 1 || s.TargetHandlingDays > 3660 {
				add("%s: target_handling_days %d (want 1 to 3660)", at, s.TargetHandlingDays)
			}
			switch s.Silence.Outcome {
			case SilenceAcceptance, SilenceRejection:
				if s.Silence.AfterMonths < 1 || s.Silence.AfterMonths > 120 {
					add("%s: silence after_months %d (want 1 to 120 for %s)", at, s.Silence.AfterMonths, s.Silence.Outcome)
				}
			case SilenceNone:
				if s.Silence.AfterMonths != 0 {
					add("%s: silence after_months %d (want none when silence decides nothing)", at, s.Silence.AfterMonths)
				}
			default:
				add("%s: silence outcome %q (want acceptance, rejection or none)", at, s.Silence.Outcome)
			}
		case KindSimulation, KindConsultation, KindInformation:
		default:
			add("%s: kind %q (want request, simulation, consultation or information)", at, s.Kind)
		}
		for _, f := range s.Fields {
			if f.Pattern == "" {
				continue
			}
			if _, err := regexp.Compile(`^(?:` + f.Pattern + `)$`); err != nil {
				add("%s: field %q: pattern does not compile: %v", at, f.Name, err)
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("catalogue file: %d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return build(doc.Version, doc.Groups, doc.Queues, doc.Services), nil
}

// describeJSONError places a decoding error on its line and column.
func describeJSONError(data []byte, err error) string {
	var offset int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset < 0 || offset > int64(len(data)) {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:offset], []byte("\n"))
	col := offset - int64(bytes.LastIndexByte(data[:offset], '\n'))
	return fmt.Sprintf("line %d, column %d: %v", line, col-1, err)
}
