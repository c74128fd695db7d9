package churn

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the first row of the scores' CSV export.
var CSVHeader = []string{"user_id", "email", "plan", "paying", "score", "high_risk", "alert_open", "model_version", "scored_at",
	"reason_1", "reason_2", "reason_3"}

// WriteCSV writes views as CSV. A cell a spreadsheet would run as a
// formula (starting with = + - @ or a tab/CR) gets a leading quote.
func WriteCSV(w io.Writer, views []ScoreView) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, v := range views {
		rec := []string{v.UserID, v.Email, v.Plan, strconv.FormatBool(v.Paying), strconv.FormatFloat(v.Score, 'f', 4, 64),
			strconv.FormatBool(v.HighRisk), strconv.FormatBool(v.AlertOpen), strconv.FormatInt(v.ModelVersion, 10),
			v.ScoredAt.UTC().Format(time.RFC3339)}
		for i := 0; i < TopReasons; i++ {
			if i < len(v.Reasons) {
				rec = append(rec, v.Reasons[i].Feature)
			} else {
				rec = append(rec, "")
			}
		}
		for i, c := range rec {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				rec[i] = "'" + c
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
