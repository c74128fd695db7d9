package audit

import (
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/schema"
)

// The golden value was computed outside Go (Python hashlib) from the
// formula documented on ComputeHash; a change here breaks every stored
// chain.
func TestComputeHashGoldenVector(t *testing.T) {
	e := schema.AuditLog{
		Seq:          1,
		Timestamp:    time.Date(2024, 3, 15, 9, 23, 11, 500000000, time.FixedZone("EST", -5*3600)),
		UserID:       "u1",
		Action:       "TRADE_EXECUTED",
		ResourceType: "Trade",
		ResourceID:   "t1",
		IPAddress:    "192.168.1.1",
		UserAgent:    "Mozilla/5.0 <x&y>",
		Status:       "success",
		Details:      `{"price":"175.00","symbol":"AAPL"}`,
		PreviousHash: GenesisHash,
	}
	if got := contentDigest(e); got != "7bd017385e10b962da85cab4ed2343730e118298e0c2e7dffd0fb6d5b54de3e2" {
		t.Errorf("contentDigest = %s", got)
	}
	if got := ComputeHash(e); got != "0f461e6612084f71b1bfbfa7c513ef77f9a60328c936d5ac8b3b8be7dbae7505" {
		t.Errorf("ComputeHash = %s", got)
	}
}

// Editing any stored field (other than the row id) changes the hash, and
// moving characters between adjacent fields does too.
func TestComputeHashCoversEveryField(t *testing.T) {
	base := schema.AuditLog{
		ID: "id", Seq: 7, Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), UserID: "u1",
		Action: "TRADE_CREATED", ResourceType: "Trade", ResourceID: "r1", IPAddress: "10.0.0.1",
		UserAgent: "ua", Status: "success", ErrorMessage: "", Details: `{"a":1}`, PreviousHash: GenesisHash,
	}
	want := ComputeHash(base)
	edits := map[string]func(e *schema.AuditLog){
		"seq":            func(e *schema.AuditLog) { e.Seq = 8 },
		"timestamp":      func(e *schema.AuditLog) { e.Timestamp = e.Timestamp.Add(time.Microsecond) },
		"user":           func(e *schema.AuditLog) { e.UserID = "u2" },
		"action":         func(e *schema.AuditLog) { e.Action = "TRADE_SIZED" },
		"resource type":  func(e *schema.AuditLog) { e.ResourceType = "User" },
		"resource id":    func(e *schema.AuditLog) { e.ResourceID = "r2" },
		"ip":             func(e *schema.AuditLog) { e.IPAddress = "10.0.0.2" },
		"user agent":     func(e *schema.AuditLog) { e.UserAgent = "ub" },
		"status":         func(e *schema.AuditLog) { e.Status = "failure" },
		"error":          func(e *schema.AuditLog) { e.ErrorMessage = "x" },
		"details":        func(e *schema.AuditLog) { e.Details = `{"a":2}` },
		"previous hash":  func(e *schema.AuditLog) { e.PreviousHash = "1" + GenesisHash[1:] },
		"shift boundary": func(e *schema.AuditLog) { e.Action, e.ResourceID = "TRADE_CREATEDr", "1" },
	}
	for name, edit := range edits {
		e := base
		edit(&e)
		if ComputeHash(e) == want {
			t.Errorf("editing %s does not change the hash", name)
		}
	}
	e := base
	e.ID = "other"
	e.Timestamp = e.Timestamp.In(time.FixedZone("X", 3600))
	if ComputeHash(e) != want {
		t.Error("hash depends on the row id or the timestamp's zone")
	}
}
