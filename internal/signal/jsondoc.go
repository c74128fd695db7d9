package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// maxJSONDepth bounds object/array nesting of a webhook body. Real alerts
// nest two levels (stopLoss: {...}).
const maxJSONDepth = 16

// decodeJSONDoc decodes one JSON value into map[string]any / []any / string /
// json.Number / bool / nil — the form jsonschema validates — keeping numbers
// exact. It refuses what encoding/json would accept silently: a key given
// twice in one object, trailing data after the value, and deep nesting.
func decodeJSONDoc(body []byte) (any, *ParseError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, pe := decodeValue(dec, 0, "")
	if pe != nil {
		return nil, pe
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errBodyNotJSON("unexpected data after the closing brace")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int, path string) (any, *ParseError) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonSyntax(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth >= maxJSONDepth {
		return nil, errBodyTooDeep(maxJSONDepth)
	}
	switch d {
	case '{':
		obj := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, jsonSyntax(err)
			}
			key, _ := kt.(string) // the decoder guarantees a string key here
			field := key
			if path != "" {
				field = path + "." + key
			}
			if _, dup := obj[key]; dup {
				return nil, errDuplicate(field)
			}
			v, pe := decodeValue(dec, depth+1, field)
			if pe != nil {
				return nil, pe
			}
			obj[key] = v
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, jsonSyntax(err)
		}
		return obj, nil
	case '[':
		arr := []any{}
		for dec.More() {
			v, pe := decodeValue(dec, depth+1, path)
			if pe != nil {
				return nil, pe
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, jsonSyntax(err)
		}
		return arr, nil
	}
	return nil, errBodyNotJSON("unexpected " + d.String())
}

// jsonSyntax words a decoder error for a trader: what went wrong and where,
// without Go type names.
func jsonSyntax(err error) *ParseError {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errBodyNotJSON("it ends too early; check for a missing } or \"")
	case errors.As(err, &se):
		msg := strings.TrimPrefix(se.Error(), "json: ")
		return errBodyNotJSON(msg + " at byte " + strconv.FormatInt(se.Offset, 10))
	default:
		return errBodyNotJSON(strings.TrimPrefix(err.Error(), "json: "))
	}
}
