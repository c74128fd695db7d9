// Package tracing sets up OpenTelemetry traces for every tradeexec process
// (DESIGN §Observability): one trace follows a webhook through the API
// (Gin middleware), the workflow start, the workflow and its activities
// (Temporal's OpenTelemetry interceptor, on the client and so on every
// worker built from it) down to each broker HTTP exchange
// (internal/broker/httpx opens a client span per exchange).
//
// Off by default: without OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) no SDK provider is installed, the
// global tracer stays OpenTelemetry's no-op, and the instrumentation only
// carries an incoming traceparent along. With it, spans are batched and
// exported by OTLP/HTTP; the exporter reads the standard OTEL_EXPORTER_OTLP_*
// variables (headers, timeout, certificate) and the provider reads
// OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG and OTEL_SERVICE_NAME.
//
// Spans never carry a secret: a redacting span processor replaces every
// url.path by the route template (webhook URLs hold their token) and drops
// url.query and the query of url.full (broker signatures ride in queries).
package tracing

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// ScopeName is the instrumentation scope of tradeexec's own spans.
const ScopeName = "github.com/tradeexec/tradeexec"

// Propagator is the W3C trace context and baggage: what the API reads from
// an incoming traceparent and what the Temporal interceptor writes into
// workflow and activity headers.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

func init() {
	// Set once for the process, exporter or not: an incoming traceparent is
	// carried along (and into the logs' trace_id) even with tracing off.
	otel.SetTextMapPropagator(Propagator())
}

// Options configure Setup.
type Options struct {
	// Enabled turns the SDK provider and the OTLP exporter on
	// (config.Config.TracingEnabled).
	Enabled bool
	// ServiceName is the default service.name ("tradeexec-api", …);
	// OTEL_SERVICE_NAME overrides it.
	ServiceName string
}

// Setup installs the OTLP-exporting tracer provider when o.Enabled and
// returns the function that flushes and stops it (a no-op otherwise).
func Setup(ctx context.Context, o Options) (func(context.Context) error, error) {
	if !o.Enabled {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, errors.New("tracing: OTLP exporter: " + err.Error())
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(o.ServiceName)))
	if err != nil {
		return nil, err
	}
	// OTEL_SERVICE_NAME, when set, wins over the default name.
	if envRes, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, envRes); err == nil {
			res = merged
		}
	}
	tp := NewProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// NewProvider returns an SDK tracer provider with the redacting processor
// first, then opts (the exporter's processor; tests pass an in-memory one).
func NewProvider(opts ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(Redactor{})}, opts...)...)
}

// Tracer is tradeexec's own tracer (the global provider's, resolved at
// each call so a provider installed later is used).
func Tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(ScopeName) }

// ClientInterceptors are the Temporal client interceptors of every
// process: the OpenTelemetry tracing interceptor. Workers built from the
// client use it too (it is also a worker interceptor), so workflow and
// activity spans continue the trace of the StartWorkflow that began them.
func ClientInterceptors() []interceptor.ClientInterceptor {
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		// The global provider, looked up through otel's delegating tracer,
		// so Setup (or a test) may install the provider after dialing.
		Tracer:                  otel.GetTracerProvider().Tracer("temporal-sdk-go"),
		TextMapPropagator:       Propagator(),
		DisableQueryTracing:     true,
		AllowInvalidParentSpans: true,
	})
	if err != nil {
		// NewTracingInterceptor fails only on options it cannot use; the
		// ones above are fixed.
		panic("tracing: Temporal interceptor: " + err.Error())
	}
	return []interceptor.ClientInterceptor{i}
}

// untraced paths: probes, metrics and the long-lived WebSocket.
var untraced = map[string]bool{"/live": true, "/ready": true, "/health": true, "/ws": true}

// Gin is the API's tracing middleware: a server span per request named
// by its route template, continuing an incoming traceparent.
func Gin(service string) gin.HandlerFunc {
	return otelgin.Middleware(service,
		otelgin.WithPropagators(Propagator()),
		otelgin.WithFilter(func(r *http.Request) bool { return !untraced[r.URL.Path] }))
}

// Redactor is the span processor that keeps secrets out of spans: url.path
// becomes the route template (http.route) or "unmatched", url.query is
// emptied, and url.full loses its query, fragment and user info.
type Redactor struct{}

var _ sdktrace.SpanProcessor = Redactor{}

// OnStart rewrites the URL attributes set when the span started.
func (Redactor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	attrs := s.Attributes()
	route := ""
	for _, kv := range attrs {
		if kv.Key == "http.route" {
			route = kv.Value.AsString()
		}
	}
	for _, kv := range attrs {
		switch kv.Key {
		case "url.path", "http.target":
			p := route
			if p == "" {
				p = "unmatched"
			}
			s.SetAttributes(attribute.String(string(kv.Key), p))
		case "url.query":
			s.SetAttributes(attribute.String("url.query", ""))
		case "url.full", "http.url":
			s.SetAttributes(attribute.String(string(kv.Key), StripURL(kv.Value.AsString())))
		}
	}
}

// OnEnd does nothing (a read-only span cannot be changed).
func (Redactor) OnEnd(sdktrace.ReadOnlySpan) {}

// Shutdown does nothing.
func (Redactor) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (Redactor) ForceFlush(context.Context) error { return nil }

// StripURL is raw without query, fragment and user info ("" when
// unreadable).
func StripURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return strings.TrimSuffix(u.String(), "?")
}
