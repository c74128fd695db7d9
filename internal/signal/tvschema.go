package signal

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

//go:embed tradingview.schema.json
var tradingViewSchemaJSON []byte

const tradingViewSchemaURL = "https://tradeexec.local/schemas/tradingview-alert.json"

// tradingViewSchema is compiled once at start-up; the schema is part of the
// binary, so a failure is a programming error caught by every test run.
var tradingViewSchema = mustCompileSchema()

func mustCompileSchema() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tradingViewSchemaJSON))
	if err != nil {
		panic(fmt.Sprintf("signal: embedded TradingView schema is not JSON: %v", err))
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(tradingViewSchemaURL, doc); err != nil {
		panic(fmt.Sprintf("signal: embedded TradingView schema: %v", err))
	}
	return c.MustCompile(tradingViewSchemaURL)
}

// tradingViewSchemaProps are the top-level properties the schema knows.
var tradingViewSchemaProps = schemaProperties()

func schemaProperties() map[string]bool {
	var sch struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(tradingViewSchemaJSON, &sch); err != nil {
		panic(fmt.Sprintf("signal: embedded TradingView schema: %v", err))
	}
	props := make(map[string]bool, len(sch.Properties))
	for k := range sch.Properties {
		props[k] = true
	}
	return props
}

// sortedKeys returns m's keys in order, for deterministic error reporting.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tvDecimalFields are the properties whose value is a number or numeric
// string, by their dotted path.
var tvDecimalFields = setOf(
	"quantity", "price", "limitPrice", "stopPrice", "signalPrice", "trailPercent", "trailAmount",
	"stopLoss.percent", "stopLoss.stopPrice", "stopLoss.amount", "stopLoss.limitPrice",
	"stopLoss.trailPercent", "stopLoss.trailAmount",
	"takeProfit.limitPrice", "takeProfit.percent", "takeProfit.amount", "takeProfit.pnlAmount",
)

// validateSchema checks doc against the embedded schema and turns the most
// specific violation into a trader-readable *ParseError.
func validateSchema(doc any) *ParseError {
	err := tradingViewSchema.Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return errInvalidValue("")
	}
	leaf := mostSpecific(ve)
	return schemaMessage(doc, leaf)
}

// mostSpecific returns the leaf error with the deepest instance location,
// the one closest to the offending value. Ties are broken by location and
// kind so the answer does not depend on the validator's map iteration order.
func mostSpecific(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	best := ve
	better := func(e *jsonschema.ValidationError) bool {
		if len(best.Causes) != 0 {
			return true
		}
		if a, b := len(e.InstanceLocation), len(best.InstanceLocation); a != b {
			return a > b
		}
		if a, b := strings.Join(e.InstanceLocation, "\x00"), strings.Join(best.InstanceLocation, "\x00"); a != b {
			return a < b
		}
		return fmt.Sprintf("%T", e.ErrorKind) < fmt.Sprintf("%T", best.ErrorKind)
	}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			if better(e) {
				best = e
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return best
}

func schemaMessage(doc any, e *jsonschema.ValidationError) *ParseError {
	field := strings.Join(e.InstanceLocation, ".")
	if req, ok := e.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		name := req.Missing[0]
		if field != "" {
			name = field + "." + name
		}
		return errRequired(name)
	}
	value := lookup(doc, e.InstanceLocation)
	switch {
	case field == "":
		return errBodyNotObject()
	case tvDecimalFields[field]:
		return errNotNumber(field, display(value))
	case field == "stopLoss":
		return errPriceOrObject(field, `{"percent": 2} or {"stopPrice": 95.5}`)
	case field == "takeProfit":
		return errPriceOrObject(field, `{"percent": 5} or {"limitPrice": 110}`)
	case field == "passphrase":
		// Never echo the passphrase, whatever is wrong with it.
		if _, isStr := value.(string); isStr {
			return errTooLong(field, 256)
		}
		return errMustBeString(field)
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Enum:
		want := make([]string, 0, len(k.Want))
		for _, w := range k.Want {
			want = append(want, fmt.Sprint(w))
		}
		return errOneOfGot(field, display(value), want)
	case *kind.Type:
		if len(k.Want) == 2 {
			return errMustBeStringOrNumber(field)
		}
		return errMustBeString(field)
	case *kind.MinLength:
		return errMustBeNonEmpty(field)
	case *kind.MaxLength:
		return errTooLong(field, k.Want)
	}
	return errInvalidValue(field)
}

// lookup returns the value at a JSON location in doc.
func lookup(doc any, loc []string) any {
	v := doc
	for _, tok := range loc {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[tok]
	}
	return v
}

// display renders a JSON value for an error message.
func display(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return "null"
	case map[string]any:
		return "{…}"
	case []any:
		return "[…]"
	}
	return fmt.Sprint(v)
}
