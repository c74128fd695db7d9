package logging

import (
	"context"

	"go.uber.org/zap"
)

type ctxKey struct{}

// WithContext returns a copy of ctx carrying logger.
func WithContext(ctx context.Context, logger *zap.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, logger)
}

// FromContext returns the logger carried by ctx, or zap.L() (the process
// logger once main calls zap.ReplaceGlobals; a no-op logger before).
func FromContext(ctx context.Context) *zap.Logger {
	if ctx != nil {
		if l, ok := ctx.Value(ctxKey{}).(*zap.Logger); ok && l != nil {
			return l
		}
	}
	return zap.L()
}

// With returns a copy of ctx whose logger carries the extra fields.
func With(ctx context.Context, fields ...zap.Field) context.Context {
	return WithContext(ctx, FromContext(ctx).With(fields...))
}
