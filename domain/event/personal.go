package event

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
)

// sealedKey is the member of a stored payload holding its sealed personal fields (base64, standard encoding).
const sealedKey = "_sealed"

// personalPlan is what sealing needs to know of an event type with personal fields, found by reflection once per
// Definition: which fields are personal, and two struct types holding just the clear and just the personal fields
// (same names and tags, same order), whose JSON is the event's JSON split in two.
type personalPlan struct {
	clearIdx, personalIdx   []int
	clearType, personalType reflect.Type
}

// planFor classifies the fields of t by their `personal` tag. It returns nil for a type without personal fields,
// and an error for a tag that is neither "yes" nor "no", a JSON name that collides with the sealed member, or an
// embedded field beside personal fields (its promoted fields could not be split).
func planFor(t reflect.Type) (*personalPlan, error) {
	if t.Kind() != reflect.Struct {
		return nil, nil
	}
	var (
		p        personalPlan
		clear    []reflect.StructField
		personal []reflect.StructField
		embedded bool
	)
	for i := range t.NumField() {
		f := t.Field(i)
		tag, tagged := f.Tag.Lookup("personal")
		if tagged && tag != "yes" && tag != "no" {
			return nil, fmt.Errorf("field %s: personal tag %q, want \"yes\" or \"no\"", f.Name, tag)
		}
		if !f.IsExported() {
			continue // encoding/json ignores it
		}
		if jsonName(f) == sealedKey {
			return nil, fmt.Errorf("field %s: the JSON name %q is reserved for sealed personal data", f.Name, sealedKey)
		}
		embedded = embedded || f.Anonymous
		field := reflect.StructField{Name: f.Name, Type: f.Type, Tag: f.Tag}
		if tag == "yes" {
			p.personalIdx, personal = append(p.personalIdx, i), append(personal, field)
		} else {
			p.clearIdx, clear = append(p.clearIdx, i), append(clear, field)
		}
	}
	if len(personal) == 0 {
		return nil, nil
	}
	if embedded {
		return nil, errors.New("an event with personal fields cannot embed a struct: declare its fields")
	}
	p.clearType, p.personalType = reflect.StructOf(clear), reflect.StructOf(personal)
	return &p, nil
}

// jsonName returns the name encoding/json gives field f ("-" when it is left out).
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// aad returns the associated data of a sealed payload: the event id's 16 bytes, then its type name as stored. A
// sealed value copied into another event, or under another type name, does not open.
func aad(id uuid.UUID, typeName string) []byte {
	b := make([]byte, 0, len(id)+len(typeName))
	b = append(b, id[:]...)
	return append(b, typeName...)
}

// sealFields returns the JSON of v with its personal fields sealed under subject (the "_sealed" member, last), or
// nil when v has no personal field set: then the plain JSON is stored.
func (r *Registry) sealFields(p *personalPlan, v any, name string, id, subject uuid.UUID) ([]byte, error) {
	rv := reflect.ValueOf(v)
	set := false
	for _, i := range p.personalIdx {
		if !rv.Field(i).IsZero() {
			set = true
			break
		}
	}
	if !set {
		return nil, nil
	}
	cv, pv := reflect.New(p.clearType).Elem(), reflect.New(p.personalType).Elem()
	for j, i := range p.clearIdx {
		cv.Field(j).Set(rv.Field(i))
	}
	for j, i := range p.personalIdx {
		pv.Field(j).Set(rv.Field(i))
	}
	// Interface() copies: the values marshal as the event does (not addressable).
	clear, err := json.Marshal(cv.Interface())
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(pv.Interface())
	if err != nil {
		return nil, err
	}
	box, err := r.sealer.Seal(subject, aad(id, name), plain)
	if err != nil {
		return nil, fmt.Errorf("seal personal fields: %w", err)
	}
	out := make([]byte, 0, len(clear)+len(sealedKey)+6+base64.StdEncoding.EncodedLen(len(box)))
	out = append(out, clear[:len(clear)-1]...)
	if len(clear) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"`+sealedKey+`":"`...)
	out = base64.StdEncoding.AppendEncode(out, box)
	return append(out, '"', '}'), nil
}

// sealedNeedle is in every payload with sealed fields; a payload without it is decoded as it is.
var sealedNeedle = []byte(sealedKey[1:] + `"`)

// splitSealed returns the payload without its "_sealed" member and that member's decoded value, or ok false when
// data holds no top-level "_sealed" member.
func splitSealed(data []byte) (clear, box []byte, ok bool, err error) {
	if clear, encoded, fast := splitSealedTail(data); fast {
		box = make([]byte, base64.StdEncoding.DecodedLen(len(encoded)))
		n, err := base64.StdEncoding.Decode(box, encoded)
		if err != nil {
			return nil, nil, false, fmt.Errorf("sealed personal data: %w", err)
		}
		return clear, box[:n], true, nil
	}
	// Not the layout NewRecord writes (last member). The needle starts with a byte rarer than a quote in JSON, so
	// the search is quick; it is what every record in clear costs, with the tail's check.
	if !bytes.Contains(data, sealedNeedle) {
		return nil, nil, false, nil
	}
	// Take the object apart.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, nil, false, err
	}
	raw, found := members[sealedKey]
	if !found {
		return nil, nil, false, nil // "_sealed" below the top level: an ordinary value
	}
	var encoded []byte // a JSON string decodes to []byte from base64
	if err := json.Unmarshal(raw, &encoded); err != nil {
		return nil, nil, false, fmt.Errorf("sealed personal data: %w", err)
	}
	delete(members, sealedKey)
	if clear, err = json.Marshal(members); err != nil {
		return nil, nil, false, err
	}
	return clear, encoded, true, nil
}

// sealedTailKey is what precedes the sealed value in the layout NewRecord writes.
var sealedTailKey = []byte(`"` + sealedKey + `":`)

// splitSealedTail recognises the layout NewRecord writes: the object ends with `"_sealed":"<base64>"}`, the member
// following '{' or ','. Base64 holds no quote, and a quote inside a JSON string is escaped, so such a tail is the
// last member of the top-level object.
func splitSealedTail(data []byte) (clear, encoded []byte, ok bool) {
	d := bytes.TrimRight(data, " \t\r\n")
	if len(d) < 2 || d[len(d)-1] != '}' || d[len(d)-2] != '"' {
		return nil, nil, false
	}
	open := bytes.LastIndexByte(d[:len(d)-2], '"') // the sealed value's opening quote
	if open < 0 {
		return nil, nil, false
	}
	encoded = d[open+1 : len(d)-2]
	before := bytes.TrimRight(d[:open], " \t\r\n")
	if !bytes.HasSuffix(before, sealedTailKey) || bytes.IndexByte(encoded, '\\') >= 0 {
		return nil, nil, false
	}
	before = bytes.TrimRight(before[:len(before)-len(sealedTailKey)], " \t\r\n")
	if len(before) == 0 {
		return nil, nil, false
	}
	switch before[len(before)-1] {
	case '{':
		return []byte("{}"), encoded, true
	case ',':
		c := make([]byte, 0, len(before))
		c = append(c, before[:len(before)-1]...)
		return append(c, '}'), encoded, true
	}
	return nil, nil, false
}

// mergeObjects returns the JSON object holding the members of a, then those of b.
func mergeObjects(a, b []byte) ([]byte, error) {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if len(a) < 2 || len(b) < 2 || a[0] != '{' || b[0] != '{' || a[len(a)-1] != '}' || b[len(b)-1] != '}' {
		return nil, errors.New("sealed personal data is not a JSON object")
	}
	inner := bytes.TrimSpace(b[1 : len(b)-1])
	if len(inner) == 0 {
		return a, nil
	}
	if len(bytes.TrimSpace(a[1:len(a)-1])) == 0 {
		return b, nil
	}
	out := make([]byte, 0, len(a)+len(inner)+1)
	out = append(out, a[:len(a)-1]...)
	out = append(out, ',')
	out = append(out, inner...)
	return append(out, '}'), nil
}

// unseal returns the payload of rec with its personal fields opened and merged back, or its clear part and erased
// true when the subject's key was destroyed. A payload without sealed fields is returned as it is.
func (r *Registry) unseal(rec Record, stream StreamID, meta Metadata) (data []byte, erased bool, err error) {
	clear, box, ok, err := splitSealed(rec.Data)
	if err != nil || !ok {
		return rec.Data, false, err
	}
	if r.sealer == nil {
		return nil, false, ErrSealed
	}
	subject := meta.Subject
	if subject == uuid.Nil {
		subject = stream.ID
	}
	plain, err := r.sealer.Open(subject, aad(rec.EventID, rec.Type), box)
	switch {
	case errors.Is(err, ErrErased):
		return clear, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("open personal fields: %w", err)
	}
	data, err = mergeObjects(clear, plain)
	return data, false, err
}

// eraseFields returns v (of the type of d) with every personal field as erased: its texts read ErasedText.
func eraseFields(d *Definition, v any) any {
	if d.personal == nil {
		return v
	}
	pv := reflect.New(d.typ).Elem()
	pv.Set(reflect.ValueOf(v))
	for _, i := range d.personal.personalIdx {
		erase(pv.Field(i))
	}
	return pv.Interface()
}

var timeType = reflect.TypeFor[time.Time]()

// erase sets v as an erased value: a string reads ErasedText, so does a slice of strings (one element); a struct
// has each field erased; every other value (numbers, maps, pointers, other slices) is zero, since its shape is
// unknown once its subject's key is gone.
func erase(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(ErasedText)
	case reflect.Struct:
		if v.Type() == timeType {
			v.SetZero()
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				erase(v.Field(i))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			erase(v.Index(i))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			s := reflect.MakeSlice(v.Type(), 1, 1)
			s.Index(0).SetString(ErasedText)
			v.Set(s)
			return
		}
		v.SetZero()
	default:
		v.SetZero()
	}
}

// holdsText reports whether a value of type t holds text once encoded: strings, byte slices (raw JSON, base64),
// maps, interfaces, structs other than time.Time, and slices, arrays and pointers of those.
func holdsText(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Map, reflect.Interface:
		return true
	case reflect.Struct:
		return t != timeType
	case reflect.Slice:
		return t.Elem().Kind() == reflect.Uint8 || holdsText(t.Elem())
	case reflect.Array, reflect.Pointer:
		return holdsText(t.Elem())
	}
	return false
}

// CheckClassification reports every field of the events of lists that holds text (a string, a byte slice, a map,
// a struct other than time.Time, an interface, or a slice, array or pointer of those) and carries no `personal`
// tag, or whose `personal` tag is neither "yes" nor "no": every such field must say whether it identifies or
// describes a person (see Sealer). nil when every field is classified.
func CheckClassification(lists ...[]Definition) error {
	var errs []error
	for _, list := range lists {
		for _, d := range list {
			t := d.typ
			if t.Kind() != reflect.Struct {
				continue
			}
			for i := range t.NumField() {
				f := t.Field(i)
				tag, tagged := f.Tag.Lookup("personal")
				switch {
				case tagged && tag != "yes" && tag != "no":
					errs = append(errs, fmt.Errorf("%s (%s).%s: personal tag %q, want \"yes\" or \"no\"", d.name, t, f.Name, tag))
				case !tagged && f.IsExported() && jsonName(f) != "-" && holdsText(f.Type):
					errs = append(errs, fmt.Errorf("%s (%s).%s: %s holds text and has no personal tag", d.name, t, f.Name, f.Type))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Personal returns the JSON names of the event's personal fields (tagged `personal:"yes"`), in field order.
func (d Definition) Personal() []string {
	if d.personal == nil {
		return nil
	}
	names := make([]string, len(d.personal.personalIdx))
	for j, i := range d.personal.personalIdx {
		names[j] = jsonName(d.typ.Field(i))
	}
	return names
}
