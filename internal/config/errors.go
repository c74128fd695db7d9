package config

import "strings"

// FieldError is one problem with one environment variable. Its message never
// contains a secret value.
type FieldError struct {
	Var    string // environment variable, e.g. "DATABASE_URL"
	Reason string
}

func (e FieldError) Error() string { return "config: " + e.Var + ": " + e.Reason }

// Errors is every problem Load found, in the order of the variables checked.
type Errors []FieldError

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Has reports whether one of the problems concerns variable v.
func (e Errors) Has(v string) bool {
	for _, fe := range e {
		if fe.Var == v {
			return true
		}
	}
	return false
}

type collector struct{ errs Errors }

func (c *collector) add(v, reason string) {
	c.errs = append(c.errs, FieldError{Var: v, Reason: reason})
}

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}
