package tracing

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The redacting processor replaces a path by its route, empties the query
// and strips url.full to scheme, host and path.
func TestRedactor(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := NewProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	_, s := tp.Tracer("t").Start(context.Background(), "x", sdktraceAttrs(
		attribute.String("http.route", "/webhooks/tradingview/:token"),
		attribute.String("url.path", "/webhooks/tradingview/s3cr3t-token-value"),
		attribute.String("url.query", "signature=abc"),
		attribute.String("url.full", "https://user:pw@api.example.com/api/v3/order?signature=abc&timestamp=1#f"),
	))
	s.End()
	_, s2 := tp.Tracer("t").Start(context.Background(), "y", sdktraceAttrs(attribute.String("url.path", "/probe/s3cr3t")))
	s2.End()
	got := map[string]string{}
	for _, kv := range exp.GetSpans()[0].Attributes {
		got[string(kv.Key)] = kv.Value.AsString()
	}
	want := map[string]string{"http.route": "/webhooks/tradingview/:token", "url.path": "/webhooks/tradingview/:token",
		"url.query": "", "url.full": "https://api.example.com/api/v3/order"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if p := exp.GetSpans()[1].Attributes[0].Value.AsString(); p != "unmatched" {
		t.Errorf("url.path without a route = %q, want unmatched", p)
	}
}

func sdktraceAttrs(kv ...attribute.KeyValue) trace.SpanStartOption {
	return trace.WithAttributes(kv...)
}
