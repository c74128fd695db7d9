package logging

import (
	"time"

	"go.uber.org/zap/zapcore"
)

// redactObject and redactArray re-encode a marshaler through encoders that
// redact by key at every depth.
type redactObject struct{ m zapcore.ObjectMarshaler }

func (r redactObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	return r.m.MarshalLogObject(&redactObjectEncoder{ObjectEncoder: enc})
}

type redactArray struct{ m zapcore.ArrayMarshaler }

func (r redactArray) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	return r.m.MarshalLogArray(&redactArrayEncoder{ArrayEncoder: enc})
}

// redactObjectEncoder redacts every value added under a sensitive key, and
// every value after a sensitive namespace was opened.
type redactObjectEncoder struct {
	zapcore.ObjectEncoder
	secretNamespace bool
}

func (e *redactObjectEncoder) secret(key string) bool { return e.secretNamespace || SensitiveKey(key) }

func (e *redactObjectEncoder) redact(key string) { e.ObjectEncoder.AddString(key, Redacted) }

func (e *redactObjectEncoder) OpenNamespace(key string) {
	e.secretNamespace = e.secretNamespace || SensitiveKey(key)
	e.ObjectEncoder.OpenNamespace(key)
}

func (e *redactObjectEncoder) AddArray(key string, v zapcore.ArrayMarshaler) error {
	if e.secret(key) {
		e.redact(key)
		return nil
	}
	return e.ObjectEncoder.AddArray(key, redactArray{v})
}

func (e *redactObjectEncoder) AddObject(key string, v zapcore.ObjectMarshaler) error {
	if e.secret(key) {
		e.redact(key)
		return nil
	}
	return e.ObjectEncoder.AddObject(key, redactObject{v})
}

func (e *redactObjectEncoder) AddReflected(key string, v any) error {
	if e.secret(key) {
		e.redact(key)
		return nil
	}
	return e.ObjectEncoder.AddReflected(key, redactReflected(v))
}

func (e *redactObjectEncoder) AddString(key, v string) {
	if e.secret(key) {
		e.redact(key)
		return
	}
	e.ObjectEncoder.AddString(key, ScrubString(v))
}

func (e *redactObjectEncoder) AddByteString(key string, v []byte) {
	if e.secret(key) {
		e.redact(key)
		return
	}
	e.ObjectEncoder.AddString(key, ScrubString(string(v)))
}

func (e *redactObjectEncoder) AddBinary(key string, v []byte) {
	if e.secret(key) {
		e.redact(key)
		return
	}
	e.ObjectEncoder.AddBinary(key, v)
}

// Scalars: a number or flag under a secret name (a PIN, an OTP) is redacted too.

func (e *redactObjectEncoder) AddBool(k string, v bool) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddBool(k, v)
}

func (e *redactObjectEncoder) AddComplex128(k string, v complex128) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddComplex128(k, v)
}

func (e *redactObjectEncoder) AddComplex64(k string, v complex64) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddComplex64(k, v)
}

func (e *redactObjectEncoder) AddDuration(k string, v time.Duration) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddDuration(k, v)
}

func (e *redactObjectEncoder) AddFloat64(k string, v float64) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddFloat64(k, v)
}

func (e *redactObjectEncoder) AddFloat32(k string, v float32) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddFloat32(k, v)
}

func (e *redactObjectEncoder) AddInt(k string, v int) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddInt(k, v)
}

func (e *redactObjectEncoder) AddInt64(k string, v int64) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddInt64(k, v)
}

func (e *redactObjectEncoder) AddInt32(k string, v int32) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddInt32(k, v)
}

func (e *redactObjectEncoder) AddInt16(k string, v int16) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddInt16(k, v)
}

func (e *redactObjectEncoder) AddInt8(k string, v int8) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddInt8(k, v)
}

func (e *redactObjectEncoder) AddTime(k string, v time.Time) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddTime(k, v)
}

func (e *redactObjectEncoder) AddUint(k string, v uint) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddUint(k, v)
}

func (e *redactObjectEncoder) AddUint64(k string, v uint64) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddUint64(k, v)
}

func (e *redactObjectEncoder) AddUint32(k string, v uint32) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddUint32(k, v)
}

func (e *redactObjectEncoder) AddUint16(k string, v uint16) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddUint16(k, v)
}

func (e *redactObjectEncoder) AddUint8(k string, v uint8) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddUint8(k, v)
}

func (e *redactObjectEncoder) AddUintptr(k string, v uintptr) {
	if e.secret(k) {
		e.redact(k)
		return
	}
	e.ObjectEncoder.AddUintptr(k, v)
}

// redactArrayEncoder scrubs strings and redacts nested objects by key.
type redactArrayEncoder struct{ zapcore.ArrayEncoder }

func (e *redactArrayEncoder) AppendString(v string) { e.ArrayEncoder.AppendString(ScrubString(v)) }

func (e *redactArrayEncoder) AppendByteString(v []byte) {
	e.ArrayEncoder.AppendString(ScrubString(string(v)))
}

func (e *redactArrayEncoder) AppendArray(v zapcore.ArrayMarshaler) error {
	return e.ArrayEncoder.AppendArray(redactArray{v})
}

func (e *redactArrayEncoder) AppendObject(v zapcore.ObjectMarshaler) error {
	return e.ArrayEncoder.AppendObject(redactObject{v})
}

func (e *redactArrayEncoder) AppendReflected(v any) error {
	return e.ArrayEncoder.AppendReflected(redactReflected(v))
}
