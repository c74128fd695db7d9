package e2e

import (
	"context"
	"os"
	"path/filepath"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// recordHistory writes a workflow's history to workflows/testdata/<name>.json
// when TRADEEXEC_RECORD_HISTORY=1, for the replay tests that guard workflow
// changes. Regenerate after a deliberate, versioned workflow change.
func (h *harness) recordHistory(workflowID, name string) {
	h.t.Helper()
	if os.Getenv("TRADEEXEC_RECORD_HISTORY") != "1" {
		return
	}
	iter := h.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(h.t, err)
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&hist)
	require.NoError(h.t, err)
	require.NoError(h.t, os.WriteFile(filepath.Join("..", "workflows", "testdata", name+".json"), b, 0o644))
}
