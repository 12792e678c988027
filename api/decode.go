package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/scaplock/scaplock/lock"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into dst: no unknown fields,
// nothing after it. Errors name the field.
func decodeJSON(body []byte, dst any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonFieldError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &lock.FieldError{Field: "body", Message: "has data after the JSON object"}
	}
	return nil
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
