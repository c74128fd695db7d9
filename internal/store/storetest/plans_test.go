package storetest

import "testing"

func TestUnselective(t *testing.T) {
	few := map[string]bool{"status": true, "is_active": true}
	for _, c := range []struct {
		step string
		bad  bool
	}{
		{"SCAN trades", true},
		{"SCAN outbox_events USING INDEX idx_outbox_events_created_at", true},
		{"SCAN risk_guards USING COVERING INDEX idx_risk_guards_user_id", true},
		{"SCAN 200-ROW VALUES CLAUSE", false},
		{"SCAN CONSTANT ROW", false},
		{"SEARCH trades USING INDEX sqlite_autoindex_trades_1 (id=?)", false},
		{"SEARCH trades USING INDEX idx_trades_status (status=?)", true},
		{"SEARCH broker_connections USING INDEX ix_broker_connections_active (is_active=?)", true},
		{"SEARCH broker_connections USING INDEX ix_broker_connections_active (is_active=? AND id>?)", false},
		{"SEARCH trades USING INDEX ix_trades_connection_status (broker_connection_id=? AND status=?)", false},
		{"SEARCH outbox_events USING INTEGER PRIMARY KEY (rowid>?)", false},
		{"SEARCH outbox_events", false},
		{"USE TEMP B-TREE FOR ORDER BY", false},
		{"MULTI-INDEX OR", false},
		{"SCAN paper_accounts USING INDEX ix_paper_accounts_working", false},
		{"SCAN paper_accounts USING COVERING INDEX ix_paper_accounts_working", false},
		{"SCAN paper_accounts USING INDEX sqlite_autoindex_paper_accounts_1", true},
	} {
		partial := func(index string) bool { return index == "ix_paper_accounts_working" }
		if got := unselective(c.step, few, partial) != ""; got != c.bad {
			t.Errorf("%q: unselective %v, want %v", c.step, got, c.bad)
		}
	}
}
