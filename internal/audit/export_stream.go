package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// exportBatch is how many rows Export reads per query.
const exportBatch = 1000

// ExportEntry is one entry in a JSON export; details stay the stored JSON
// object.
type ExportEntry struct {
	Timestamp    string          `json:"timestamp"`
	UserID       string          `json:"userId"`
	Seq          int64           `json:"seq"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resourceType"`
	ResourceID   string          `json:"resourceId"`
	IPAddress    string          `json:"ipAddress"`
	UserAgent    string          `json:"userAgent"`
	Status       string          `json:"status"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	Details      json.RawMessage `json:"details"`
	PreviousHash string          `json:"previousHash"`
	CurrentHash  string          `json:"currentHash"`
}

// Export writes the entries f selects (its Limit and Offset are ignored)
// to w, oldest first, as CSV (CSVHeader, formula cells neutralized) or a
// JSON array, reading the database a batch at a time by keyset (timestamp,
// user, seq): memory stays constant however many rows match. It returns
// how many entries it wrote.
func Export(ctx context.Context, db *gorm.DB, w io.Writer, f Filter, format string) (int64, error) {
	if format != FormatCSV && format != FormatJSON {
		return 0, fmt.Errorf("audit: unknown export format %q (csv or json)", format)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	if format == FormatCSV {
		cw = csv.NewWriter(bw)
		if err := cw.Write(CSVHeader); err != nil {
			return 0, err
		}
	} else if _, err := bw.WriteString("["); err != nil {
		return 0, err
	}
	var n int64
	var last *schema.AuditLog
	for {
		q := f.apply(db.WithContext(ctx))
		if last != nil {
			t := last.Timestamp.UTC()
			// A row-value comparison walks ix_audit_logs_export in order.
			q = q.Where("(timestamp, user_id, seq) > (?, ?, ?)", t, last.UserID, last.Seq)
		}
		var batch []schema.AuditLog
		if err := q.Order("timestamp").Order("user_id").Order("seq").Limit(exportBatch).Find(&batch).Error; err != nil {
			return n, fmt.Errorf("audit: export: %w", err)
		}
		for _, e := range batch {
			var err error
			if cw != nil {
				record := []string{FormatTimestamp(e.Timestamp), e.UserID, e.Action, e.ResourceType, e.ResourceID,
					e.Status, e.Details, e.PreviousHash, e.CurrentHash}
				for i, v := range record {
					record[i] = neutralizeFormula(v)
				}
				err = cw.Write(record)
			} else {
				sep := ",\n"
				if n == 0 {
					sep = "\n"
				}
				details := json.RawMessage(e.Details)
				if !json.Valid(details) {
					details, _ = json.Marshal(e.Details)
				}
				if _, err = bw.WriteString(sep); err == nil {
					_, err = bw.Write(encodeJSON(ExportEntry{Timestamp: FormatTimestamp(e.Timestamp), UserID: e.UserID, Seq: e.Seq,
						Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, IPAddress: e.IPAddress,
						UserAgent: e.UserAgent, Status: e.Status, ErrorMessage: e.ErrorMessage, Details: details,
						PreviousHash: e.PreviousHash, CurrentHash: e.CurrentHash}))
				}
			}
			if err != nil {
				return n, err
			}
			n++
		}
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return n, err
			}
		}
		if len(batch) < exportBatch {
			break
		}
		last = &batch[len(batch)-1]
	}
	if cw == nil {
		end := "]\n"
		if n > 0 {
			end = "\n]\n"
		}
		if _, err := bw.WriteString(end); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}
