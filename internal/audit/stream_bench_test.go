package audit_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/schema"
)

func BenchmarkExporter(b *testing.B) {
	row := schema.AuditLog{ID: "0badc0de-0000-4000-8000-000000000001", Seq: 1, Timestamp: time.Now().UTC(), UserID: "0badc0de-0000-4000-8000-000000000002",
		Action: "TRADE_EXECUTED", ResourceType: "Trade", ResourceID: "trade-1", IPAddress: "192.168.1.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) fill",
		Status: "success", Details: `{"avgFillPrice":"175.25","brokerOrderId":"alpaca_1","clientOrderId":"trade-1","filledQuantity":"50","symbol":"AAPL","via":"webhook"}`,
		PreviousHash: fmt.Sprintf("%064d", 0), CurrentHash: fmt.Sprintf("%064d", 1)}
	for _, format := range []string{"csv", "json"} {
		b.Run(format, func(b *testing.B) {
			exp, err := audit.NewExporter(format, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			if err := exp.Begin(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := exp.Entry(&row); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
