package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scaplock/scaplock/lock"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into dst (a pointer to a
// struct): valid UTF-8, field names exactly as the contract spells them
// (encoding/json alone matches them case-insensitively), each at most once,
// no unknown fields, no control characters or lone surrogates in strings,
// nothing after the object. Errors name the field.
func decodeJSON(body []byte, dst any) error {
	if !utf8.Valid(body) {
		return &lock.FieldError{Field: "body", Message: "is not valid UTF-8"}
	}
	if err := checkFields(body, jsonFields(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonFieldError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &lock.FieldError{Field: "body", Message: "has data after the JSON object"}
	}
	return nil
}

// jsonFields are the JSON names of a struct's fields.
func jsonFields(dst any) map[string]bool {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	names := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return names
	}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		if name != "-" {
			names[name] = true
		}
	}
	return names
}

// checkFields walks the top-level object: every key one of known, spelt
// exactly, once; every string value free of control characters.
func checkFields(body []byte, known map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return jsonFieldError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &lock.FieldError{Field: "body", Message: "must be a JSON object"}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonFieldError(err)
		}
		key, _ := tok.(string)
		field := key
		if key == "" || len(key) > 64 || strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			field = "body"
		}
		if !known[key] {
			for k := range known {
				if strings.EqualFold(k, key) {
					return &lock.FieldError{Field: field, Message: fmt.Sprintf("is not a known field: names are case-sensitive, did you mean %q?", k)}
				}
			}
			if field == "body" {
				return &lock.FieldError{Field: field, Message: fmt.Sprintf("has an unknown field %s", strconv.QuoteToASCII(key))}
			}
			return &lock.FieldError{Field: field, Message: "is not a known field"}
		}
		if seen[key] {
			return &lock.FieldError{Field: field, Message: "is given twice"}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonFieldError(err)
		}
		if msg := badEscapes(raw); msg != "" {
			return &lock.FieldError{Field: field, Message: msg}
		}
	}
	return nil
}

// badEscapes says what is wrong with the \u escapes of a raw JSON value:
// control characters, or surrogates outside a pair (encoding/json would
// silently turn them into U+FFFD). Raw control bytes are already invalid JSON.
func badEscapes(raw []byte) string {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' || i+6 > len(raw) {
			i++ // a one-letter escape; \n and \t are control characters too
			if i < len(raw) && strings.IndexByte("bfnrt", raw[i]) >= 0 {
				return "must not contain control characters"
			}
			continue
		}
		r, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
		if err != nil {
			return "has a bad \\u escape"
		}
		switch {
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			return "must not contain control characters"
		case r >= 0xd800 && r < 0xdc00:
			if i+12 > len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' {
				return "is not valid UTF-16: a lone surrogate"
			}
			lo, err := strconv.ParseUint(string(raw[i+8:i+12]), 16, 32)
			if err != nil || lo < 0xdc00 || lo >= 0xe000 {
				return "is not valid UTF-16: a lone surrogate"
			}
			i += 11
			continue
		case r >= 0xdc00 && r < 0xe000:
			return "is not valid UTF-16: a lone surrogate"
		}
		i += 5
	}
	return ""
}

func jsonFieldError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return &lock.FieldError{Field: field, Message: fmt.Sprintf("must be a %s", jsonType(typeErr.Type.Kind().String()))}
	case errors.As(err, &syntaxErr):
		return &lock.FieldError{Field: "body", Message: fmt.Sprintf("is not valid JSON (at byte %d)", syntaxErr.Offset)}
	case errors.Is(err, io.EOF):
		return &lock.FieldError{Field: "body", Message: "is empty; send a JSON object"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &lock.FieldError{Field: name, Message: "is not a known field"}
	}
	return &lock.FieldError{Field: "body", Message: "is not valid JSON: " + err.Error()}
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "struct", "map":
		return "JSON object"
	case "slice":
		return "JSON array"
	}
	return kind
}
