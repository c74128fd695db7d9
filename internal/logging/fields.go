package logging

import (
	"context"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// Field names shared by every process, so one query finds a request, a
// workflow or a trace across api, worker and bot logs.
const (
	KeyRequestID  = "request_id"
	KeyWorkflowID = "workflow_id"
	KeyRunID      = "run_id"
	KeyTraceID    = "trace_id"
	KeyUserID     = "user_id"
)

// RequestID is the field for an HTTP request or Discord interaction id.
func RequestID(id string) zap.Field { return zap.String(KeyRequestID, id) }

// WorkflowID is the field for a Temporal workflow id.
func WorkflowID(id string) zap.Field { return zap.String(KeyWorkflowID, id) }

// RunID is the field for a Temporal run id.
func RunID(id string) zap.Field { return zap.String(KeyRunID, id) }

// TraceID is the field for a distributed trace id.
func TraceID(id string) zap.Field { return zap.String(KeyTraceID, id) }

// UserID is the field for the acting or affected user.
func UserID(id string) zap.Field { return zap.String(KeyUserID, id) }

// WithRequestID returns ctx whose logger carries request_id.
func WithRequestID(ctx context.Context, id string) context.Context { return With(ctx, RequestID(id)) }

// WithWorkflowID returns ctx whose logger carries workflow_id.
func WithWorkflowID(ctx context.Context, id string) context.Context { return With(ctx, WorkflowID(id)) }

// WithTraceID returns ctx whose logger carries trace_id.
func WithTraceID(ctx context.Context, id string) context.Context { return With(ctx, TraceID(id)) }

// WithUserID returns ctx whose logger carries user_id.
func WithUserID(ctx context.Context, id string) context.Context { return With(ctx, UserID(id)) }

// TraceIDFrom is the trace id of the span in ctx ("" when ctx carries no
// valid span context: tracing off and no incoming traceparent).
func TraceIDFrom(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}

// TraceFields are the trace_id field of ctx's span (none without one), for
// loggers that are not taken from ctx (activities').
func TraceFields(ctx context.Context) []zap.Field {
	if id := TraceIDFrom(ctx); id != "" {
		return []zap.Field{TraceID(id)}
	}
	return nil
}
