package httpapi

import (
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

var (
	timeType = reflect.TypeOf(time.Time{})
	uuidType = reflect.TypeOf(uuid.UUID{})
)

// schemaOf returns the JSON Schema of a body type for the OpenAPI document, registering named structs in defs
// (components.schemas) and referring to them. It follows encoding/json's rules: json tag names, "-" skipped,
// omitempty/omitzero fields optional, everything else required.
func schemaOf(t reflect.Type, defs map[string]any) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == uuidType:
		return map[string]any{"type": "string", "format": "uuid"}
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
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				jsonName, opts, _ := strings.Cut(tag, ",")
				if jsonName == "" {
					jsonName = f.Name
				}
				if f.Anonymous && tag == "" {
					continue // embedded structs are not used in bodies
				}
				props[jsonName] = schemaOf(f.Type, defs)
				if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
					required = append(required, jsonName)
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

func schemaName(t reflect.Type) string {
	r := []rune(t.Name())
	if len(r) == 0 {
		return "Anonymous"
	}
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
