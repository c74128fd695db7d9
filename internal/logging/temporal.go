package logging

import (
	"fmt"

	sdklog "go.temporal.io/sdk/log"
	"go.uber.org/zap"
)

// Temporal adapts a zap logger to the Temporal SDK's logger interface (for
// client.Options.Logger and worker logs), so SDK lines share the format,
// the level and the redaction of everything else. The SDK's WorkflowID and
// RunID keys are renamed to workflow_id and run_id.
func Temporal(l *zap.Logger) sdklog.Logger {
	return &temporalLogger{z: l.WithOptions(zap.AddCallerSkip(1))}
}

type temporalLogger struct{ z *zap.Logger }

var (
	_ sdklog.Logger          = (*temporalLogger)(nil)
	_ sdklog.WithLogger      = (*temporalLogger)(nil)
	_ sdklog.WithSkipCallers = (*temporalLogger)(nil)
)

func (t *temporalLogger) Debug(msg string, kv ...any) { t.z.Debug(msg, keyvalFields(kv)...) }
func (t *temporalLogger) Info(msg string, kv ...any)  { t.z.Info(msg, keyvalFields(kv)...) }
func (t *temporalLogger) Warn(msg string, kv ...any)  { t.z.Warn(msg, keyvalFields(kv)...) }
func (t *temporalLogger) Error(msg string, kv ...any) { t.z.Error(msg, keyvalFields(kv)...) }

func (t *temporalLogger) With(kv ...any) sdklog.Logger {
	return &temporalLogger{z: t.z.With(keyvalFields(kv)...)}
}

func (t *temporalLogger) WithCallerSkip(n int) sdklog.Logger {
	return &temporalLogger{z: t.z.WithOptions(zap.AddCallerSkip(n))}
}

var temporalKeys = map[string]string{"WorkflowID": KeyWorkflowID, "RunID": KeyRunID}

func keyvalFields(kv []any) []zap.Field {
	fields := make([]zap.Field, 0, (len(kv)+1)/2)
	for i := 0; i < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			key = fmt.Sprint(kv[i])
		}
		if k, ok := temporalKeys[key]; ok {
			key = k
		}
		if i+1 == len(kv) {
			fields = append(fields, zap.String("missing_value_for", key))
			break
		}
		if err, ok := kv[i+1].(error); ok {
			fields = append(fields, zap.NamedError(key, err))
			continue
		}
		fields = append(fields, zap.Any(key, kv[i+1]))
	}
	return fields
}
