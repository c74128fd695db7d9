package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
)

// Client is who is calling: the request's IP address (after trusted
// proxies) and User-Agent header.
type Client struct {
	IP        string
	UserAgent string
}

type clientKey struct{}

// WithClient returns ctx carrying c; Verify then also checks the session
// binding against c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the Client stored by WithClient.
func ClientFrom(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey{}).(Client)
	return c, ok
}

// Network returns the client's network: the /24 of an IPv4 address, the /48
// of an IPv6 one, or the raw text when it is not an IP address. Addresses
// that change inside one provider's block (DHCP) keep the session.
func (c Client) Network() string {
	addr, err := netip.ParseAddr(strings.TrimSpace(c.IP))
	if err != nil {
		return strings.TrimSpace(c.IP)
	}
	addr = addr.Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return addr.String()
	}
	return p.String()
}

// UserAgentHash is SHA-256 hex of the User-Agent header.
func (c Client) UserAgentHash() string {
	sum := sha256.Sum256([]byte(c.UserAgent))
	return hex.EncodeToString(sum[:])
}

// Describe names the client for people: "203.0.113.7 (Firefox on Linux)".
func (c Client) Describe() string {
	ip := c.IP
	if ip == "" {
		ip = "an unknown address"
	}
	return ip + " (" + describeAgent(c.UserAgent) + ")"
}

// describeAgent summarises a User-Agent header as "browser on OS". It
// recognises the common cases only and never echoes the header itself.
func describeAgent(ua string) string {
	browser := "unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "a Go program"},
		{"python-requests/", "a Python script"}, {"PostmanRuntime/", "Postman"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}
