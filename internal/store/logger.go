package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// slowQueryThreshold is the duration above which a statement is logged as
// slow at warn level.
const slowQueryThreshold = 200 * time.Millisecond

// gormLogger routes gorm's logging to zap. It logs errors and slow
// statements at warn level (every statement at debug level after
// db.Debug()), always with placeholders instead of bound values: parameters
// may hold credential ciphertext, token hashes or personal data.
type gormLogger struct {
	log   *zap.Logger
	level gormlogger.LogLevel
	slow  time.Duration
}

func newGormLogger(log *zap.Logger) *gormLogger {
	return &gormLogger{log: log.Named("sql"), level: gormlogger.Warn, slow: slowQueryThreshold}
}

// db.Scan renders its SQL through gorm's package-level trace recorder before
// handing it to the logger; make that recorder drop bound values too.
func init() {
	gormlogger.RecorderParamsFilter = func(_ context.Context, sql string, _ ...any) (string, []any) {
		return sql, nil
	}
}

var (
	_ gormlogger.Interface = (*gormLogger)(nil)
	_ gorm.ParamsFilter    = (*gormLogger)(nil)
)

func (l *gormLogger) LogMode(level gormlogger.LogLevel) gormlogger.Interface {
	c := *l
	c.level = level
	return &c
}

func (l *gormLogger) Info(_ context.Context, msg string, args ...any) {
	if l.level >= gormlogger.Info {
		l.log.Info(fmt.Sprintf(msg, args...))
	}
}

func (l *gormLogger) Warn(_ context.Context, msg string, args ...any) {
	if l.level >= gormlogger.Warn {
		l.log.Warn(fmt.Sprintf(msg, args...))
	}
}

func (l *gormLogger) Error(_ context.Context, msg string, args ...any) {
	if l.level >= gormlogger.Error {
		l.log.Error(fmt.Sprintf(msg, args...))
	}
}

// Trace is called after every statement. fc returns the SQL with
// placeholders only (see ParamsFilter).
func (l *gormLogger) Trace(_ context.Context, begin time.Time, fc func() (string, int64), err error) {
	if l.level <= gormlogger.Silent {
		return
	}
	elapsed := time.Since(begin)
	switch {
	case err != nil && l.level >= gormlogger.Error && !errors.Is(err, gorm.ErrRecordNotFound):
		sql, rows := fc()
		l.log.Warn("sql statement failed", zap.String("sql", sql), zap.Int64("rows", rows),
			zap.Duration("elapsed", elapsed), zap.Error(err))
	case l.slow > 0 && elapsed > l.slow && l.level >= gormlogger.Warn:
		sql, rows := fc()
		l.log.Warn("slow sql statement", zap.String("sql", sql), zap.Int64("rows", rows),
			zap.Duration("elapsed", elapsed), zap.Duration("threshold", l.slow))
	case l.level >= gormlogger.Info:
		sql, rows := fc()
		l.log.Debug("sql statement", zap.String("sql", sql), zap.Int64("rows", rows),
			zap.Duration("elapsed", elapsed))
	}
}

// ParamsFilter drops bound values so logged SQL keeps its placeholders
// (gorm's ParameterizedQueries behaviour).
func (l *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
