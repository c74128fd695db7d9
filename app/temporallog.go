package app

import (
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
)

// temporalLogger adapts zap to the Temporal SDK's logger interface.
type temporalLogger struct{ l *zap.SugaredLogger }

func newTemporalLogger(l *zap.Logger) log.Logger { return temporalLogger{l.Sugar()} }

func (t temporalLogger) Debug(msg string, kv ...interface{}) { t.l.Debugw(msg, kv...) }
func (t temporalLogger) Info(msg string, kv ...interface{})  { t.l.Infow(msg, kv...) }
func (t temporalLogger) Warn(msg string, kv ...interface{})  { t.l.Warnw(msg, kv...) }
func (t temporalLogger) Error(msg string, kv ...interface{}) { t.l.Errorw(msg, kv...) }
