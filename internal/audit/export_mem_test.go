package audit_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// seedRows inserts n entries directly (hashes do not matter to export).
func seedRows(t testing.TB, db *gorm.DB, n int) {
	t.Helper()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	details := `{"note":"` + strings.Repeat("x", 400) + `"}`
	rows := make([]schema.AuditLog, 0, 1000)
	for i := 0; i < n; i++ {
		rows = append(rows, schema.AuditLog{ID: uuid.NewString(), Seq: int64(i + 1), Timestamp: at.Add(time.Duration(i) * time.Second),
			UserID: "bulk", Action: audit.ActionTradeCreated, ResourceID: fmt.Sprintf("r%d", i), Details: details,
			PreviousHash: audit.GenesisHash, CurrentHash: audit.GenesisHash})
		if len(rows) == cap(rows) || i == n-1 {
			if err := store.InTx(context.Background(), db, func(tx *gorm.DB) error { return tx.CreateInBatches(rows, 200).Error }); err != nil {
				t.Fatal(err)
			}
			rows = rows[:0]
		}
	}
}

// heapWriter measures the live heap while an export writes.
type heapWriter struct {
	written int
	maxLive uint64
}

func (w *heapWriter) Write(p []byte) (int, error) {
	w.written += len(p)
	if w.written > 1<<20 {
		w.written = 0
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.maxLive = max(w.maxLive, m.HeapAlloc)
	}
	return len(p), nil
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// 20,000 entries of ~0.5 kB (≈10 MB as rows) export in a live heap that
// grows by a few MB at most: the export holds one batch, not the result.
func TestExportStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 rows")
	}
	db, _ := storetest.Open(t)
	seedRows(t, db, 20000)
	for _, format := range []string{audit.FormatCSV, audit.FormatJSON} {
		base := liveHeap()
		w := &heapWriter{}
		n, err := audit.Export(context.Background(), db, w, audit.Filter{}, format)
		if err != nil || n != 20000 {
			t.Fatalf("%s: %d %v", format, n, err)
		}
		if grow := int64(w.maxLive) - int64(base); grow > 6<<20 {
			t.Errorf("%s: live heap grew by %.1f MB during the export", format, float64(grow)/(1<<20))
		}
	}
}

func BenchmarkExportCSV(b *testing.B) {
	db, _ := storetest.Open(b)
	seedRows(b, db, 20000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := audit.Export(context.Background(), db, io.Discard, audit.Filter{}, audit.FormatCSV); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(20000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
