package health

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// yamlProblems turns the YAML decoder's error into one error per problem,
// each naming the line and column where the problem is (yaml.v3 named the
// start of the enclosing block instead: an indentation mistake on line 3
// was reported on line 1).
func yamlProblems(err error) []error {
	var many *yaml.LoadErrors
	if errors.As(err, &many) {
		var errs []error
		for _, e := range many.Errors {
			errs = append(errs, yamlProblem(e))
		}
		return errs
	}
	var one *yaml.LoadError
	if errors.As(err, &one) {
		return []error{yamlProblem(one)}
	}
	return []error{err}
}

func yamlProblem(e *yaml.LoadError) error {
	msg := e.Message
	// "field bogus not found in type health.fileCluster" names a Go type
	// the reader of the file never sees.
	if rest, ok := strings.CutPrefix(msg, "field "); ok {
		if key, _, ok := strings.Cut(rest, " not found in type "); ok {
			msg = fmt.Sprintf("unknown key %q", key)
		}
	}
	if e.Mark.Line == 0 {
		return errors.New(msg)
	}
	return fmt.Errorf("line %d, column %d: %s", e.Mark.Line, e.Mark.Column, msg)
}

// PrefixEach puts prefix before each of err's problems (errors.Join's
// parts), so that every line of the message says where it comes from.
func PrefixEach(prefix string, err error) error {
	parts := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts = j.Unwrap()
	}
	for i, p := range parts {
		parts[i] = fmt.Errorf("%s: %w", prefix, p)
	}
	return errors.Join(parts...)
}
