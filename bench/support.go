package main

import (
	"github.com/tradeexec/tradeexec/internal/trade"
)

func tradeClientOrderID(workflowID string) string { return trade.ClientOrderID(workflowID, "entry") }

// quietLogger silences the Temporal SDK's own logging during measurement.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}
