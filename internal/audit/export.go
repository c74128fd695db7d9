package audit

import (
	"encoding/csv"
	"io"
	"strings"

	"github.com/tradeexec/tradeexec/schema"
)

// CSVHeader is the header row written by ExportCSV.
var CSVHeader = []string{
	"Timestamp", "UserID", "Action", "ResourceType", "ResourceID", "Status",
	"Details", "PreviousHash", "CurrentHash",
}

// ExportCSV writes entries as CSV (RFC 4180) with CSVHeader. Timestamps
// are RFC 3339 in UTC. A cell that a spreadsheet would run as a formula
// (starting with = + - @ or a tab/CR) is prefixed with a single quote
// (OWASP CSV injection guidance); hashes, ids and JSON details never start
// that way, so chain values export unchanged.
func ExportCSV(w io.Writer, entries []schema.AuditLog) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, e := range entries {
		record := []string{
			FormatTimestamp(e.Timestamp), e.UserID, e.Action, e.ResourceType, e.ResourceID,
			e.Status, e.Details, e.PreviousHash, e.CurrentHash,
		}
		for i, v := range record {
			record[i] = neutralizeFormula(v)
		}
		if err := cw.Write(record); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func neutralizeFormula(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
