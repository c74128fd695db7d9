// Package logging builds the zap logger every tradeexec process uses: JSON in
// production, console text in dev, UTC timestamps, and a core that redacts
// credential-like fields and values before anything is written (defence in
// depth for invariant 4: no broker credential in a log line).
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Options configures New.
type Options struct {
	Level  string    // debug, info, warn or error; empty = info
	Format string    // json or console; empty = json
	Output io.Writer // empty = os.Stderr
}

// New returns a logger writing at the given level in the given format,
// through the redacting core. Errors (and above) carry a stack trace.
func New(opts Options) (*zap.Logger, error) {
	level := zapcore.InfoLevel
	if opts.Level != "" {
		l, err := zapcore.ParseLevel(opts.Level)
		if err != nil {
			return nil, fmt.Errorf("logging: invalid level %q", opts.Level)
		}
		level = l
	}
	var enc zapcore.Encoder
	switch opts.Format {
	case "", "json":
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "ts"
		ec.EncodeTime = utcTime
		ec.EncodeDuration = zapcore.MillisDurationEncoder
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = utcTime
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("logging: invalid format %q (use json or console)", opts.Format)
	}
	out := opts.Output
	if out == nil {
		out = os.Stderr
	}
	core := NewRedactingCore(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), level))
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel)), nil
}

// utcTime writes timestamps as RFC 3339 in UTC with milliseconds.
func utcTime(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendString(t.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
}
