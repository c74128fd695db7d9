package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// trustedProxies reads TRUSTED_PROXIES: the load balancers / reverse proxies
// whose X-Forwarded-For the API believes when it takes a request's client IP
// (per-IP rate limits, session binding, audit entries). Comma-separated IPs
// or CIDRs; empty (the default) trusts no proxy, so the client IP is always
// the TCP peer and the header is ignored.
func (l *loader) trustedProxies() {
	raw := l.env("TRUSTED_PROXIES")
	if raw == "" {
		return
	}
	proxies, reason := parseTrustedProxies(raw)
	if reason != "" {
		l.c.add("TRUSTED_PROXIES", reason+" (comma-separated IPs or CIDRs of your load balancers, e.g. 10.0.0.0/24,192.0.2.7)")
		return
	}
	l.cfg.TrustedProxies = proxies
}

// parseTrustedProxies returns the entries of raw in canonical form (an IP
// or a masked CIDR, as net.ParseIP / net.ParseCIDR and so gin accept them),
// or the reason the first bad entry is refused.
func parseTrustedProxies(raw string) ([]string, string) {
	var out []string
	seen := map[string]bool{}
	for entry := range strings.SplitSeq(raw, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue // "a, b," is fine
		}
		canon, reason := trustedProxy(entry)
		if reason != "" {
			return nil, fmt.Sprintf("entry %q: %s", entry, reason)
		}
		if !seen[canon] {
			seen[canon] = true
			out = append(out, canon)
		}
	}
	if len(out) == 0 {
		return nil, "no entry"
	}
	return out, ""
}

func trustedProxy(entry string) (string, string) {
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		switch {
		case err != nil:
			return "", "not an IP address or CIDR"
		case p.Bits() == 0:
			return "", "trusts every address, so any client could choose its IP (name your load balancers)"
		case p.Masked() != p:
			return "", fmt.Sprintf("has host bits set (did you mean %s?)", p.Masked())
		}
		return p.String(), ""
	}
	a, err := netip.ParseAddr(entry)
	switch {
	case err != nil:
		return "", "not an IP address or CIDR"
	case a.Zone() != "":
		return "", "IPv6 zones are not supported"
	}
	return a.Unmap().String(), ""
}
