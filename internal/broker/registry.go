package broker

import (
	"fmt"
	"sort"
	"sync"
)

// Credentials are the decrypted secret fields of a connection
// ("api_key", "api_secret", "account_id", "base_url", ...). They exist only in
// activity memory; never log them or return them from an API.
type Credentials map[string]string

// Config is what a factory needs to build an adapter for one connection.
type Config struct {
	ConnectionID string
	UserID       string
	Paper        bool // sandbox / paper endpoint of the broker
	Credentials  Credentials
}

// Factory builds an adapter for a connection.
type Factory func(cfg Config) (Broker, error)

// Registry maps broker type names to factories. Safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds or replaces the factory for a broker type.
func (r *Registry) Register(name string, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.factories[name] = f
}

// Open builds the adapter for a connection of broker type name.
func (r *Registry) Open(name string, cfg Config) (Broker, error) {
	r.mu.RLock()
	f, ok := r.factories[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("broker %q is not supported", name)
	}
	return f(cfg)
}

// Names lists the registered broker types, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.factories))
	for n := range r.factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// InProcess reports whether broker type name runs in this process (the
// paper broker: an engine over the database, no network): its calls take
// milliseconds and cannot be lost on the way, so the trade workflow runs
// them as local activities.
func InProcess(name string) bool { return name == "paper" }
