package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

var (
	timeType = reflect.TypeOf(time.Time{})
	uuidType = reflect.TypeOf(uuid.UUID{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

// schemaOf returns the JSON Schema of a body type for the OpenAPI document, registering named structs in defs
// (components.schemas) and referring to them. It follows encoding/json's rules: json tag names, "-" skipped,
// embedded structs' fields promoted, omitempty/omitzero fields optional, everything else required. A string field
// named *_on, or birth_date, is a date (format date); a struct tag format:"…" sets the format of other string fields.
func schemaOf(t reflect.Type, defs map[string]any) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == uuidType:
		return map[string]any{"type": "string", "format": "uuid"}
	case t == rawType:
		return map[string]any{} // any JSON value
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs)}
	case reflect.Struct:
		name := schemaName(t)
		if _, done := defs[name]; !done {
			defs[name] = map[string]any{} // placeholder: recursive types terminate
			props := map[string]any{}
			var required []string
			for _, p := range structProps(t, defs, 0) {
				props[p.name] = p.schema
				if p.required {
					required = append(required, p.name)
				}
			}
			def := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
			if len(required) > 0 {
				def["required"] = required
			}
			defs[name] = def
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// prop is a property of an object schema, found depth embeddings down.
type prop struct {
	name     string
	schema   map[string]any
	required bool
	depth    int
}

// structProps returns the properties of struct t in field order, with the fields of embedded structs promoted as
// encoding/json promotes them: a field of a shallower depth hides one of the same name further down.
func structProps(t reflect.Type, defs map[string]any, depth int) []prop {
	var all []prop
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		jsonName, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && jsonName == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != timeType {
				promoted := structProps(ft, defs, depth+1)
				if f.Type.Kind() == reflect.Pointer {
					for j := range promoted {
						promoted[j].required = false // absent when the pointer is nil
					}
				}
				all = append(all, promoted...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if jsonName == "" {
			jsonName = f.Name
		}
		schema := schemaOf(f.Type, defs)
		if format := f.Tag.Get("format"); format != "" {
			schema = withFormat(schema, format)
		} else if (strings.HasSuffix(jsonName, "_on") || jsonName == "birth_date") && schema["type"] == "string" {
			schema = withFormat(schema, "date") // the API's convention: *_on (and birth_date) is a date, YYYY-MM-DD
		}
		all = append(all, prop{name: jsonName, schema: schema, depth: depth,
			required: !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero")})
	}
	shallowest := map[string]int{}
	for _, p := range all {
		if d, ok := shallowest[p.name]; !ok || p.depth < d {
			shallowest[p.name] = p.depth
		}
	}
	var out []prop
	kept := map[string]bool{}
	for _, p := range all {
		if p.depth == shallowest[p.name] && !kept[p.name] {
			kept[p.name] = true
			out = append(out, p)
		}
	}
	return out
}

// withFormat returns a copy of a string schema with a format (a struct tag format:"date" declares it).
func withFormat(schema map[string]any, format string) map[string]any {
	out := make(map[string]any, len(schema)+1)
	for k, v := range schema {
		out[k] = v
	}
	out["format"] = format
	return out
}

func schemaName(t reflect.Type) string {
	r := []rune(t.Name())
	if len(r) == 0 {
		return "Anonymous"
	}
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
