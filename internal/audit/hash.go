package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/schema"
)

// GenesisHash is the PreviousHash of the first entry of every chain.
var GenesisHash = strings.Repeat("0", 64)

// ComputeHash returns the CurrentHash an entry must carry:
//
//	CurrentHash   = hex(SHA-256(PreviousHash + Timestamp + UserID + Action + ResourceID + contentDigest))
//	Timestamp     = e.Timestamp in UTC, formatted time.RFC3339Nano
//	                ("2006-01-02T15:04:05.999999999Z07:00", trailing zeros dropped)
//	contentDigest = hex(SHA-256(canonical))
//	canonical     = the JSON array
//	                [Seq, UserID, Action, ResourceType, ResourceID, IPAddress,
//	                 UserAgent, Status, ErrorMessage, Details]
//	                Seq a JSON number, the others JSON strings (Details is the
//	                stored JSON text, hashed as a string), encoded by Go's
//	                encoding/json without HTML escaping and without whitespace.
//
// "+" is plain string concatenation; hex is lower case. The first part is
// the FR-055 formula; the content digest extends it to every stored field
// (except the row id), and repeating UserID, Action and ResourceID inside
// the JSON array removes the ambiguity of concatenating variable-length
// strings, so editing any field of an entry changes its hash.
func ComputeHash(e schema.AuditLog) string {
	h := sha256.New()
	h.Write([]byte(e.PreviousHash))
	h.Write([]byte(FormatTimestamp(e.Timestamp)))
	h.Write([]byte(e.UserID))
	h.Write([]byte(e.Action))
	h.Write([]byte(e.ResourceID))
	h.Write([]byte(contentDigest(e)))
	return hex.EncodeToString(h.Sum(nil))
}

// FormatTimestamp is the timestamp text used in the hash and in exports.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func contentDigest(e schema.AuditLog) string {
	canonical := []any{
		e.Seq, e.UserID, e.Action, e.ResourceType, e.ResourceID, e.IPAddress,
		e.UserAgent, e.Status, e.ErrorMessage, e.Details,
	}
	sum := sha256.Sum256(encodeJSON(canonical))
	return hex.EncodeToString(sum[:])
}

// encodeJSON marshals v compactly without HTML escaping. Encoding values of
// the kinds used here (strings, numbers, maps with string keys, slices)
// cannot fail.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("audit: encode canonical JSON: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
