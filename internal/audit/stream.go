package audit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/schema"
)

// View is one entry as administrators see it (the admin API's JSON and the
// JSON export). Details are re-redacted on the way out (see SafeDetails).
type View struct {
	ID           string          `json:"id"`
	Seq          int64           `json:"seq"`
	Timestamp    time.Time       `json:"timestamp"`
	UserID       string          `json:"userId"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resourceType,omitempty"`
	ResourceID   string          `json:"resourceId,omitempty"`
	IPAddress    string          `json:"ipAddress,omitempty"`
	UserAgent    string          `json:"userAgent,omitempty"`
	Status       string          `json:"status"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	Details      json.RawMessage `json:"details,omitempty"`
	PreviousHash string          `json:"previousHash"`
	CurrentHash  string          `json:"currentHash"`
}

// ViewOf converts a stored entry.
func ViewOf(r *schema.AuditLog) View {
	v := View{ID: r.ID, Seq: r.Seq, Timestamp: r.Timestamp.UTC(), UserID: r.UserID, Action: r.Action,
		ResourceType: r.ResourceType, ResourceID: r.ResourceID, IPAddress: r.IPAddress, UserAgent: r.UserAgent,
		Status: r.Status, ErrorMessage: r.ErrorMessage, PreviousHash: r.PreviousHash, CurrentHash: r.CurrentHash}
	if d := SafeDetails(r.Details); d != "" && d != "{}" && json.Valid([]byte(d)) {
		v.Details = json.RawMessage(d)
	}
	return v
}

// SafeDetails returns stored details fit to leave the server: Append
// already redacted them, but an entry written before a key was added to
// the sensitive list is redacted again here (Redact's rules); such text
// that is not a JSON object is dropped. Details that name no sensitive
// key are returned as stored (no decoding: exports stay cheap).
func SafeDetails(details string) string {
	if details == "" {
		return ""
	}
	if !mentionsSensitiveKey(details) {
		return details
	}
	dec := json.NewDecoder(strings.NewReader(details))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return ""
	}
	return string(encodeJSON(Redact(m)))
}

// mentionsSensitiveKey reports whether s contains a sensitive key part,
// ASCII case-insensitively, without allocating.
func mentionsSensitiveKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		for _, p := range sensitiveKeyParts {
			if c == p[0] && len(s)-i >= len(p) && strings.EqualFold(s[i:i+len(p)], p) {
				return true
			}
		}
	}
	return false
}

// ExportHeader is the header row of CSV exports: the SPEC's columns
// (US-007: Timestamp, Symbol, Quantity, Price, Broker, Order ID, Status,
// with the hashes for integrity verification) and every stored field.
var ExportHeader = []string{
	"Timestamp", "UserID", "Seq", "Action", "ResourceType", "ResourceID", "Status",
	"Symbol", "Quantity", "Price", "Broker", "OrderID",
	"IPAddress", "UserAgent", "ErrorMessage", "Details", "PreviousHash", "CurrentHash", "ID",
}

// Exporter writes entries one at a time in a format (CSV or JSON).
type Exporter interface {
	Begin() error
	Entry(*schema.AuditLog) error
	// End closes the document; a stream cut before End is not a valid
	// document (JSON) or lacks its last line (CSV).
	End() error
	// Flush pushes what is buffered to the writer.
	Flush() error
	// ContentType and Extension describe the format.
	ContentType() string
	Extension() string
}

// NewExporter returns an exporter for format "csv" or "json".
func NewExporter(format string, w io.Writer) (Exporter, error) {
	switch format {
	case "", "csv":
		return &csvExporter{w: csv.NewWriter(w)}, nil
	case "json":
		return &jsonExporter{w: w}, nil
	}
	return nil, &QueryError{Field: "format", Message: "format must be csv or json."}
}

type csvExporter struct {
	w   *csv.Writer
	rec [19]string
}

func (e *csvExporter) ContentType() string { return "text/csv; charset=utf-8" }
func (e *csvExporter) Extension() string   { return "csv" }
func (e *csvExporter) Begin() error        { return e.w.Write(ExportHeader) }

func (e *csvExporter) Entry(r *schema.AuditLog) error {
	details := SafeDetails(r.Details)
	f := columnsOf(details)
	rec := e.rec[:]
	rec[0], rec[1], rec[2], rec[3] = FormatTimestamp(r.Timestamp), r.UserID, strconv.FormatInt(r.Seq, 10), r.Action
	rec[4], rec[5], rec[6] = r.ResourceType, r.ResourceID, r.Status
	rec[7], rec[8], rec[9], rec[10], rec[11] = f.symbol, f.quantity, f.price, f.broker, f.orderID
	rec[12], rec[13], rec[14], rec[15] = r.IPAddress, r.UserAgent, r.ErrorMessage, details
	rec[16], rec[17], rec[18] = r.PreviousHash, r.CurrentHash, r.ID
	for i, v := range rec {
		rec[i] = neutralizeFormula(v)
	}
	return e.w.Write(rec)
}

func (e *csvExporter) End() error {
	e.w.Flush()
	return e.w.Error()
}

// Flush pushes buffered CSV text to the writer.
func (e *csvExporter) Flush() error {
	e.w.Flush()
	return e.w.Error()
}

type jsonExporter struct {
	w     io.Writer
	n     int64
	buf   bytes.Buffer
	enc   *json.Encoder
	begun bool
}

func (e *jsonExporter) ContentType() string { return "application/json; charset=utf-8" }
func (e *jsonExporter) Extension() string   { return "json" }

func (e *jsonExporter) Begin() error {
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	_, err := io.WriteString(e.w, `{"entries":[`)
	return err
}

func (e *jsonExporter) Entry(r *schema.AuditLog) error {
	e.buf.Reset()
	if e.n > 0 {
		e.buf.WriteByte(',')
	}
	e.buf.WriteByte('\n')
	if err := e.enc.Encode(ViewOf(r)); err != nil {
		return err
	}
	e.buf.Truncate(e.buf.Len() - 1) // Encode's newline
	e.n++
	_, err := e.w.Write(e.buf.Bytes())
	return err
}

func (e *jsonExporter) Flush() error { return nil }

func (e *jsonExporter) End() error {
	_, err := fmt.Fprintf(e.w, "\n],\"count\":%d,\"complete\":true}\n", e.n)
	return err
}

type columns struct{ symbol, quantity, price, broker, orderID string }

// columnsOf picks the SPEC's export columns out of an entry's details
// (top-level keys the trade path writes), empty when absent. Details are
// the canonical JSON Append wrote, read by a small scanner of the top
// level (no decoding into maps: the export reads a million rows).
func columnsOf(details string) columns {
	var c columns
	if len(details) < 2 || details[0] != '{' {
		return c
	}
	topLevel(details, func(key, value string) {
		var dst *string
		switch key {
		case "symbol":
			dst = &c.symbol
		case "quantity", "filledQuantity":
			dst = &c.quantity
		case "price", "avgFillPrice", "fillPrice":
			dst = &c.price
		case "broker":
			dst = &c.broker
		case "brokerOrderId", "orderId", "clientOrderId":
			dst = &c.orderID
		default:
			return
		}
		if *dst != "" {
			return // the first key listed wins; keys come sorted
		}
		if len(value) >= 2 && value[0] == '"' {
			if strings.IndexByte(value, '\\') >= 0 {
				var s string
				if json.Unmarshal([]byte(value), &s) == nil {
					*dst = s
				}
				return
			}
			*dst = value[1 : len(value)-1]
			return
		}
		if value != "" && value[0] != '{' && value[0] != '[' {
			*dst = value
		}
	})
	return c
}

// topLevel calls fn with every key of a JSON object's top level and its
// value's raw text. Malformed text ends the walk.
func topLevel(obj string, fn func(key, value string)) {
	i := 1
	str := func() (string, bool) { // obj[i] == '"'; returns the raw token
		j := i + 1
		for j < len(obj) {
			switch obj[j] {
			case '\\':
				j += 2
				continue
			case '"':
				tok := obj[i : j+1]
				i = j + 1
				return tok, true
			}
			j++
		}
		return "", false
	}
	skipSpace := func() {
		for i < len(obj) && (obj[i] == ' ' || obj[i] == '\n' || obj[i] == '\t' || obj[i] == '\r') {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(obj) || obj[i] != '"' {
			return
		}
		keyTok, ok := str()
		if !ok {
			return
		}
		skipSpace()
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		i++
		skipSpace()
		start, depth := i, 0
	value:
		for i < len(obj) {
			switch obj[i] {
			case '"':
				if _, ok := str(); !ok {
					return
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 {
					break value
				}
				depth--
			case ',':
				if depth == 0 {
					break value
				}
			}
			i++
		}
		if i >= len(obj) {
			return
		}
		fn(keyTok[1:len(keyTok)-1], strings.TrimRight(obj[start:i], " \n\t\r"))
		if obj[i] == '}' {
			return
		}
		i++ // ','
	}
}
