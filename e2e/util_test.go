package e2e

import (
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/workflows"
)

func openSQLite(t *testing.T) *gorm.DB { return storetest.OpenSQLite(t) }

func workflowsTimeouts(submit time.Duration) workflows.Timeouts {
	return workflows.Timeouts{Submit: submit}
}
